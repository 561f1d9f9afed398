"""Every run of each method's defaults at one budget, pooled over seeds and protocols.

Three seeds of a wall-clock run say little on their own: one Walker2d-v5 run that never
leaves its flat start moves a 3-seed mean by 500. Since 2026-12-04 the three methods'
searches have kept the same defaults (SATR at population 16, EC and ES at 64, input gain
0.3, the survival offset), and what changed since only decides which of the fit's networks
is returned (the final selection, ``-sel4``) or how often the fit evaluates (``-ev40``,
which moves the random stream). This script pools every run of those labels in the
results folders, per task and method: the number of runs, their mean, median, lowest and
highest true return at the last time point, and how many ended below ``--low`` (a share of
the best method's median), so that the spread is as visible as the centre.

Usage::

    python benchmarks/pooled_runs.py [--minutes 3] [--low 0.5] [--results-dirs DIR ...]
"""

import argparse
import os

import numpy as np

from bench_learning import _without_schedule
from selection_report import DEFAULT_DIRS, last_return, load

#: The labels of each method's defaults since 2026-12-04, before and after the final
#: selection and ``eval_every="auto"`` (the schedule part is dropped on tasks without a
#: survival bonus, as in the runs' labels)
FAMILIES = {
    "SATR": ("satr-pop16-kin0.3-offsurvival0.25", "satr-pop16-kin0.3-offsurvival0.25-sel4",
             "satr-pop16-kin0.3-offsurvival0.25-sel4-ev40"),
    "EC": ("ec-kin0.3-offsurvival0.25", "ec-kin0.3-offsurvival0.25-sel4"),
    "ES": ("es-kin0.3-offsurvival0.25", "es-kin0.3-offsurvival0.25-sel4"),
}


def pooled(records):
    """``{task: {method: [returns]}}`` of the runs whose label is one of ``FAMILIES``."""
    out = {}
    for record in records:
        # a task without a survival bonus runs every schedule the same, unlabelled
        strip = _without_schedule if not record.get("reward_offset") else (lambda x: x)
        label = strip(record["algo"])
        for name, labels in FAMILIES.items():
            if label in {strip(x) for x in labels}:
                out.setdefault(record["task"], {}).setdefault(name, []).append(
                    last_return(record))
    return out


def table(runs, low):
    lines = ["| task | method | runs | mean | median | lowest | highest | below "
             f"{low:g} x best median |", "|---|---|---|---|---|---|---|---|"]
    for task in sorted(runs):
        best = max(np.median(v) for v in runs[task].values())
        for name in FAMILIES:
            v = np.asarray(runs[task].get(name, []))
            if not len(v):
                continue
            lines.append(f"| {task} | {name} | {len(v)} | {v.mean():,.0f} | "
                         f"{np.median(v):,.0f} | {v.min():,.0f} | {v.max():,.0f} | "
                         f"{int((v < low * best).sum())} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--low", type=float, default=0.5,
                        help="count the runs below this share of the best method's median")
    parser.add_argument("--results-dirs", nargs="+", default=DEFAULT_DIRS)
    args = parser.parse_args(argv)
    runs = pooled(load([os.path.abspath(d) for d in args.results_dirs], args.minutes))
    print(table(runs, args.low))


if __name__ == "__main__":
    main()
