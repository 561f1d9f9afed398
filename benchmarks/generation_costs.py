"""Where a wall-clock run's time went, from the histories `bench_learning.py` keeps.

Every run of `benchmarks/bench_learning.py run` writes its `history_` as a CSV next to its
JSON (`wall_time` and `env_steps` per generation, `eval_mean` filled in the generations that
evaluated the deterministic and the top candidate's network). This script reads those CSVs and
prints, per run, over the second half of its generations (when episode lengths have settled):

- the median wall time of a generation without and with the evaluation episodes,
- the population's env steps per generation and per second (generations without evaluation,
  and overall),
- the share of the wall time the evaluations took (their generations' time above the
  median of the others).

Population size changes all of these at a fixed wall-clock budget: a small population runs
more generations, so it evaluates more often per env step.

    python benchmarks/generation_costs.py
    python benchmarks/generation_costs.py --match "HalfCheetah-v5_*_10min"
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np
from run_records import history_paths

from satrlearn.callbacks import read_history

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "results", "learning")


def costs(path):
    """The figures above for one history CSV, or None when it has under 8 generations or
    none without an evaluation in its second half."""
    history = {key: np.asarray(values, dtype=float) for key, values in read_history(path).items()}
    if len(history["wall_time"]) < 8:
        return None
    half = slice(len(history["wall_time"]) // 2, None)  # of the generations' differences
    dt, ds = np.diff(history["wall_time"])[half], np.diff(history["env_steps"])[half]
    evaluated = ~np.isnan(history["eval_mean"][1:][half])
    if evaluated.all():
        return None
    plain = float(np.median(dt[~evaluated]))
    return {"generations": len(history["wall_time"]), "gen_s": plain,
            "gen_eval_s": float(np.median(dt[evaluated])) if evaluated.any() else math.nan,
            "steps_per_gen": float(np.median(ds)),
            "rate_plain": float(np.sum(ds[~evaluated]) / np.sum(dt[~evaluated])),
            "rate_all": float(np.sum(ds) / np.sum(dt)),
            "eval_share": float(np.sum(dt[evaluated] - plain) / np.sum(dt))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results-dir", default=DEFAULT_DIR)
    parser.add_argument("--match", default="*", help="glob on the run names (default: all)")
    args = parser.parse_args(argv)
    paths = history_paths(args.results_dir, args.match)
    print(f"{'run':66} {'gens':>5} {'gen s':>6} {'+eval s':>7} {'steps/gen':>9} "
          f"{'steps/s':>8} {'all/s':>7} {'eval':>6}")
    for path in paths:
        got = costs(path)
        if got is None:
            continue
        name = os.path.basename(path)[:-4]
        print(f"{name:66} {got['generations']:5d} {got['gen_s']:6.3f} {got['gen_eval_s']:7.3f} "
              f"{got['steps_per_gen']:9.0f} {got['rate_plain']:8.0f} {got['rate_all']:7.0f} "
              f"{got['eval_share']:6.1%}")


if __name__ == "__main__":
    main()
