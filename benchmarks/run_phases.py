"""How a wall-clock run's distribution moved, quarter by quarter, from the histories
`bench_learning.py` keeps.

Every run of `benchmarks/bench_learning.py run` writes its `history_` as a CSV next to its
JSON. For each run this prints, for each quarter of its wall time:

- the mean entropy per connection (nats; 0.69 is a coin, 0.06 a settled distribution),
- the median KL of a generation's move (nats, the `kl` column: the exact KL of the clipped
  step) and the KL moved per second (the quarter's sum over its seconds),
- the population's mean true return (the `return_mean` column, averaged over the quarter).

It shows where a search keeps moving once its distribution has settled: EC's learning-rate
steps in probability space move a connection pinned near 0 or 1 a long way as soon as one
candidate disagrees, where SATR's steps in log-odds space barely move it.

    python benchmarks/run_phases.py --match "Walker2d-v5_*sel4*_10min"
    python benchmarks/run_phases.py --match "*_10min" --quarters 4
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from run_records import history_paths

from satrlearn.callbacks import read_history

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "results", "learning")


def phases(path, n=4):
    """Per share of the run's wall time (``n`` equal parts): entropy, median KL per
    generation, KL per second and population mean return; None for under ``2 * n``
    generations."""
    history = {key: np.asarray(values, dtype=float)
               for key, values in read_history(path).items()}
    t = history["wall_time"]
    if len(t) < 2 * n:
        return None
    edges = np.linspace(0.0, t[-1], n + 1)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        part = (t > lo) & (t <= hi)
        if not part.any():
            rows.append(None)
            continue
        seconds = max(float(t[part][-1] - (t[t <= lo][-1] if (t <= lo).any() else 0.0)),
                      1e-9)
        rows.append({"entropy": float(np.mean(history["entropy"][part])),
                     "kl_gen": float(np.median(history["kl"][part])),
                     "kl_s": float(np.sum(history["kl"][part]) / seconds),
                     "return": float(np.mean(history["return_mean"][part]))})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results-dir", default=DEFAULT_DIR)
    parser.add_argument("--match", default="*", help="glob on the run names (default: all)")
    parser.add_argument("--quarters", type=int, default=4,
                        help="equal shares of the wall time (default: 4)")
    args = parser.parse_args(argv)
    if args.quarters < 1:
        parser.error("--quarters must be at least 1.")
    paths = history_paths(args.results_dir, args.match)
    print("per share of the wall time: entropy (nats per connection) / median KL of a "
          "generation / KL per second / population mean return")
    for path in paths:
        rows = phases(path, args.quarters)
        if rows is None:
            continue
        cells = ["–" if r is None else
                 f"{r['entropy']:.3f} / {r['kl_gen']:.1f} / {r['kl_s']:.1f} / {r['return']:.0f}"
                 for r in rows]
        print(os.path.basename(path)[:-4])
        print("    " + " | ".join(cells))


if __name__ == "__main__":
    main()
