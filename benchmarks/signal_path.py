"""Is there a signal the step could follow? The signal-path estimate during SATR fits, by layer.

Every Bernoulli fit logs ``history_["signal_path"]``: the signal energy of one generation as a
fraction of its noise, pooled over about 20 generations (docs/concepts.md, "Pooling
generations"). This script runs one SATR fit with the estimator's defaults (``n_jobs=1`` so
that two runs can share the cores; results do not depend on it) and, after every generation,
computes the same estimate for each layer of the network from the search state: the input
connections, the recurrent connections from excitatory and from inhibitory neurons, and the
output connections. A signal concentrated in a small layer would show there when the whole
vector's estimate is lost in the noise of the others.

    python benchmarks/signal_path.py run --task HalfCheetah-v5 --steps 2000000 --seed 3
    python benchmarks/signal_path.py run --task Hopper-v5 --steps 1000000 --seed 3 --n-hidden 32
    python benchmarks/signal_path.py summary

Each run writes ``<task>_h<n_hidden>_seed<k>_<steps>steps.json`` in the results folder
(default ``benchmarks/results/signal_path/``): one row per generation with the estimate for the
whole vector and per layer, and the layer's mean entropy. ``summary`` prints, per run and
layer, the mean ± standard error of one value every 20 generations from the 20th on (the
path's memory, so that the values taken are nearly independent) and the same mean times the
layer's size: the signal energy in units of one connection's noise.
"""

from __future__ import annotations

import argparse
import glob
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "signal_path")
LAYERS = ("all", "in", "h_exc", "h_inh", "out")


def layers(config) -> dict:
    """Slices of the flat connection vector: ``W_in``, ``W_h`` from excitatory and from
    inhibitory neurons (rows of presynaptic neurons, excitatory first), ``W_out``."""
    (a0, a1), (b0, b1), _ = config.shapes
    i1 = a0 * a1
    i2 = i1 + config.n_exc * b1
    i3 = i1 + b0 * b1
    return {"in": slice(0, i1), "h_exc": slice(i1, i2), "h_inh": slice(i2, i3),
            "out": slice(i3, config.n_params)}


def run(task, steps, seed, n_hidden, results):
    from satrlearn import SATRSearch
    from satrlearn.strategies.bernoulli import bernoulli_entropy, path_estimate

    rows = []

    def per_layer(est, record):
        state = est._opt.state
        count = int(state["path_count"])
        row = {"generation": record["generation"], "env_steps": record["env_steps"],
               "all": record["signal_path"], "return_max": record["return_max"]}
        for name, part in layers(est.network_config_).items():
            row[name] = path_estimate(state["path"][part], count)
            row["entropy_" + name] = bernoulli_entropy(state["rho"][part])
        rows.append(row)

    est = SATRSearch(total_timesteps=steps, random_state=seed, n_jobs=1, n_hidden=n_hidden,
                     callbacks=[per_layer])
    est.fit(task)
    sizes = {name: part.stop - part.start
             for name, part in layers(est.network_config_).items()}
    sizes["all"] = est.network_config_.n_params
    out = os.path.join(results, f"{task}_h{n_hidden}_seed{seed}_{steps}steps.json")
    os.makedirs(results, exist_ok=True)
    with open(out, "w") as fh:
        json.dump({"task": task, "seed": seed, "steps": steps, "n_hidden": n_hidden,
                   "sizes": sizes, "eta": est.eta, "pop": est.pop, "rows": rows}, fh)
    print(f"wrote {out} ({len(rows)} generations)")


def summary(results, memory=20):
    lines = ["| run | generations | layer | connections | signal path ÷ noise, mean ± s.e. "
             "(values) | × connections |", "|---|---|---|---|---|---|"]
    for path in sorted(glob.glob(os.path.join(results, "*.json"))):
        with open(path) as fh:
            rec = json.load(fh)
        name = (f"{rec['task']}, {rec['n_hidden']} neurons, seed {rec['seed']}, "
                f"{rec['steps']:,} steps")
        rows = rec["rows"]
        for layer in LAYERS:
            values = np.array([r[layer] for r in rows], dtype=float)[memory - 1::memory]
            values = values[np.isfinite(values)]
            if len(values) < 2:
                continue
            mean = values.mean()
            se = values.std(ddof=1) / np.sqrt(len(values))
            lines.append(f"| {name} | {len(rows)} | {layer} | {rec['sizes'][layer]:,} | "
                         f"{mean:+.5f} ± {se:.5f} ({len(values)}) | "
                         f"{mean * rec['sizes'][layer]:+.1f} ± {se * rec['sizes'][layer]:.1f} |")
            name = ""
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--task", required=True)
    r.add_argument("--steps", type=int, required=True)
    r.add_argument("--seed", type=int, default=3)
    r.add_argument("--n-hidden", type=int, default=256)
    r.add_argument("--results", default=RESULTS)
    s = sub.add_parser("summary")
    s.add_argument("--results", default=RESULTS)
    args = parser.parse_args(argv)
    if args.cmd == "run":
        run(args.task, args.steps, args.seed, args.n_hidden, args.results)
    else:
        summary(args.results)


if __name__ == "__main__":
    main()
