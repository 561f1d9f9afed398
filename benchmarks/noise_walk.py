"""Is the Bernoulli searches' schedule set by the signal or by the noise? Real entropies
against a noise-only walk.

For every SATR and EC run of the defaults sweep (``benchmarks/results/sweep/``), this replays
the run's generations with the same population and the same step (EC's learning rate; SATR's
``eta``, for ``eta="budget"`` the value the fit used, rebuilt from the run's env steps) on a
search whose rankings are random numbers: no task, no signal. If the entropy per connection of the
real run and of that noise-only walk agree, the distribution's schedule was set by the
population and ``eta`` alone, not by anything the ranking said.

    python benchmarks/noise_walk.py                       # every SATR and EC run found
    python benchmarks/noise_walk.py --match Hopper-v5     # runs whose name contains this
    python benchmarks/noise_walk.py --dim 20000           # connections in the walk

Prints, per run, the entropy at generations 10, 20, 40, 80 and the last: real / walk.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "sweep")
POINTS = (10, 20, 40, 80)


def eta_sequence(record, env_steps):
    """``eta`` of each generation of a run as its fit set it."""
    from satrlearn.search import budget_eta

    pop, step = record["pop"], record["step"]
    if step != "budget":
        return [float(step)] * len(env_steps)
    per_gen = np.diff([0] + list(env_steps))
    fractions = [None] + [d / record["steps"] for d in per_gen[:-1]]
    return [budget_eta(pop, min(f, 1.0) if f is not None else None) for f in fractions]


def noise_walk(record, etas, dim, seed=0):
    """Entropy per connection after each generation of the run's search under random
    rankings (``etas``: SATR's step per generation; None for EC)."""
    from satrlearn.optim import EC, SATR
    from satrlearn.strategies.bernoulli import bernoulli_entropy

    rng = np.random.default_rng(seed)
    pop, anti = record["pop"], record["config"].endswith("-anti")
    if record["algo"] == "ec":
        opt = EC(n_params=dim, pop=pop, learning_rate=float(record["step"]), antithetic=anti,
                 random_state=seed)
    else:
        opt = SATR(n_params=dim, pop=pop, eta=etas[0], antithetic=anti, random_state=seed)
    entropies = []
    for g in range(len(etas)):
        if record["algo"] == "satr":
            opt.rule.eta = etas[g]
        opt.ask()
        opt.tell(rng.standard_normal(pop))
        entropies.append(bernoulli_entropy(opt.state["rho"]))
    return np.array(entropies)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results-dir", default=RESULTS)
    ap.add_argument("--match", default="")
    ap.add_argument("--dim", type=int, default=10_000, help="connections in the walk")
    args = ap.parse_args(argv)

    paths = sorted(glob.glob(os.path.join(args.results_dir, "*_satr-*.json"))
                   + glob.glob(os.path.join(args.results_dir, "*_ec-*.json")))
    paths = [p for p in paths if args.match in os.path.basename(p)]
    if not paths:
        print(f"no SATR or EC runs in {args.results_dir}")
        return 1
    heads = " ".join(f"{f'gen {g}':>13}" for g in POINTS)
    print(f"entropy per connection (nats), real / noise-only walk\n{'run':<58} {heads} "
          f"{'last':>17}  true return")
    gaps = []
    for path in paths:
        with open(path) as fh:
            record = json.load(fh)
        with open(path[:-len(".json")] + ".csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        real = np.array([float(r["entropy"]) for r in rows])
        etas = (eta_sequence(record, [int(r["env_steps"]) for r in rows])
                if record["algo"] == "satr" else [None] * len(rows))
        walk = noise_walk(record, etas, args.dim)
        cells = [f"{real[g - 1]:.3f} / {walk[g - 1]:.3f}" if g <= len(real) else f"{'–':>13}"
                 for g in POINTS]
        name = os.path.basename(path)[:-len(".json")].replace("_3000000steps", "")
        print(f"{name:<58} {' '.join(cells)} {len(real):>4}: {real[-1]:.3f} / "
              f"{walk[-1]:.3f}  {record['best']['mean']:>7.0f}")
        gaps.append(np.abs(real - walk).max())
    print(f"\nlargest |real - walk| over all generations of a run: median {np.median(gaps):.3f},"
          f" max {np.max(gaps):.3f} nats")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
