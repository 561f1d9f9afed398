"""What a Bernoulli search still explores once its distribution has settled: wall-clock runs
replayed as noise-only walks.

At the library's sizes a generation's ranking is almost all sampling noise, so where SATR's
and EC's distributions go over a run is, to a close approximation, a random walk set by the
population and the step (``docs/concepts.md``, "A step set by the budget"). This script
replays each run of ``benchmarks/results/learning`` on a search whose rankings are random
numbers, with the run's own population and steps (SATR: the ``eta`` of every generation, from
its history; EC: its learning rate), and reports what the real history cannot show:

- ``H``: entropy per connection at the end (nats), real / walk;
- ``KL``: median KL of a generation's move over the second half, real / walk;
- ``flips/gen`` and ``flips/s``: connections whose most likely value (``rho > 0.5``) changes
  in a generation of the second half (per second with the run's own generation times);
- ``reached``: the share of all connections whose most likely value changed at least once
  in the second half, the part of the network the settled search still explores;
- ``pinned``: the share of connections within 0.01 of 0 or 1 at the end.

    python benchmarks/settled_search.py --match "Walker2d-v5_*sel4*_10min"
    python benchmarks/settled_search.py --match "*_10min" --dim 20000

``--walk`` replays no run but a search of its own on random rankings, for choosing a setting
before running it (no real column, no ``flips/s``), e.g. SATR's fixed step with a floor on
the probabilities against EC:

    python benchmarks/settled_search.py --dim 5000 --walk ec,pop=64,generations=240 \
        satr,pop=16,eta=8,rho_eps=0.005,generations=900 \
        satr,pop=16,eta=8,rho_eps=0.01to0.001,generations=900
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
from run_records import history_paths

from satrlearn.callbacks import read_history

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "results", "learning")


def replay(algo, params, history, dim, seed=0):
    """The run's generations on random rankings; the figures above (walk side)."""
    from satrlearn.optim import EC, SATR
    from satrlearn.search import floor_at, resolve_floor

    pop = int(params["pop"])
    floor = resolve_floor(params.get("rho_eps", 1e-3), params.get("eta"))
    # the share of the budget used before each generation (wall time, or generations)
    wall = np.asarray(history["wall_time"], dtype=float)
    budget = float(params.get("max_time") or wall[-1])
    progress = np.concatenate([[0.0], wall[:-1]]) / budget
    antithetic = bool(params.get("antithetic", False))
    if algo == "ec":
        opt = EC(n_params=dim, pop=pop, learning_rate=float(params["learning_rate"]),
                 rho_eps=floor_at(floor, 0.0), antithetic=antithetic,
                 random_state=seed)
        etas = None
    else:
        etas = np.asarray(history["eta"], dtype=float)
        opt = SATR(n_params=dim, pop=pop, eta=float(etas[0]),
                   rho_eps=floor_at(floor, 0.0), antithetic=antithetic,
                   random_state=seed)
    rng = np.random.default_rng(seed)
    gens = len(history["wall_time"])
    half = gens // 2
    reached = np.zeros(dim, dtype=bool)
    kls, flips = [], []
    for g in range(gens):
        if etas is not None:
            opt.rule.eta = float(etas[g])
        opt.rule.rho_eps = floor_at(floor, progress[g])
        old = opt.state["rho"].copy()
        opt.ask()
        info = opt.tell(rng.standard_normal(pop))  # its kl: the exact KL of the move
        if g >= half:
            changed = (old > 0.5) != (opt.state["rho"] > 0.5)
            reached |= changed
            flips.append(int(changed.sum()))
            kls.append(info["kl"])
    rho = opt.state["rho"]
    seconds = np.diff(np.asarray(history["wall_time"], dtype=float))[half - 1:]
    return {"H": float(info["entropy"]), "KL": float(np.median(kls)),
            "flips_gen": float(np.mean(flips)),
            "flips_s": float(np.sum(flips) / max(float(np.sum(seconds)), 1e-9)),
            "reached": float(reached.mean()),
            "pinned": float(np.mean((rho < 0.01) | (rho > 0.99)))}


def parse_walk(text):
    """``algo,key=value,...`` of ``--walk``: the algo, its params and the generations."""
    algo, *pairs = text.split(",")
    if algo not in ("satr", "ec"):
        raise ValueError(f"--walk {text!r}: the algo must be satr or ec")
    params = {"pop": 16 if algo == "satr" else 64, "learning_rate": 0.15}
    generations = 500
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in ("pop", "eta", "rho_eps", "learning_rate", "generations"):
            raise ValueError(f"--walk {text!r}: expected key=value with a key among pop, eta, "
                             f"rho_eps, learning_rate, generations")
        if key == "generations":
            generations = int(value)
        elif key == "rho_eps" and "to" in value:  # a falling floor, START to END
            params[key] = tuple(float(v) for v in value.split("to"))
        else:
            params[key] = float(value)
    if algo == "satr" and "eta" not in params:
        raise ValueError(f"--walk {text!r}: give SATR a fixed eta=...")
    history = {"wall_time": np.arange(1, generations + 1, dtype=float),
               "eta": np.full(generations, params.get("eta", np.nan))}
    return algo, params, history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results-dir", default=DEFAULT_DIR)
    parser.add_argument("--match", default="*_10min",
                        help="glob on the run names (default: the 10-minute runs)")
    parser.add_argument("--dim", type=int, default=72_000,
                        help="connections in the walk (default: about Hopper-v5's 71,936)")
    parser.add_argument("--walk", nargs="+", default=None, metavar="ALGO,KEY=VALUE",
                        help="replay no run but these searches (satr needs eta=...)")
    args = parser.parse_args(argv)
    if args.dim < 1:
        parser.error("--dim must be at least 1.")
    if args.walk:
        try:
            walks = [parse_walk(text) for text in args.walk]
        except ValueError as exc:
            parser.error(str(exc))
        print(f"{'walk':66} {'H':>6} {'KL':>7} {'flips/gen':>9} {'reached':>8} {'pinned':>7}")
        for text, (algo, params, history) in zip(args.walk, walks):
            walk = replay(algo, params, history, args.dim)
            print(f"{text[:66]:66} {walk['H']:6.3f} {walk['KL']:7.1f} {walk['flips_gen']:9.0f} "
                  f"{walk['reached']:8.1%} {walk['pinned']:7.1%}", flush=True)
        return
    paths = history_paths(args.results_dir, args.match)
    print(f"{'run':66} {'H real/walk':>12} {'KL real/walk':>14} {'flips/gen':>9} "
          f"{'flips/s':>8} {'reached':>8} {'pinned':>7}")
    for path in paths:
        record_path = path[:-4] + ".json"
        if not os.path.isfile(record_path):
            continue
        with open(record_path) as fh:
            record = json.load(fh)
        algo = record["algo"].split("-")[0]
        if algo not in ("satr", "ec"):
            continue
        history = {k: np.asarray(v, dtype=float) for k, v in read_history(path).items()}
        if len(history["wall_time"]) < 4:
            continue
        walk = replay(algo, record["params"], history, args.dim)
        half = len(history["kl"]) // 2
        print(f"{os.path.basename(path)[:-4][:66]:66} "
              f"{history['entropy'][-1]:5.3f}/{walk['H']:.3f} "
              f"{np.median(history['kl'][half:]):6.1f}/{walk['KL']:6.1f} "
              f"{walk['flips_gen']:9.0f} {walk['flips_s']:8.0f} {walk['reached']:8.1%} "
              f"{walk['pinned']:7.1%}", flush=True)


if __name__ == "__main__":
    main()
