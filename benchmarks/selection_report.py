"""What the final selection of ``best_policy_`` did in the runs of ``bench_learning.py``.

Every run labelled ``-sel<n>`` records, at its last time point, the shortlist the fit
re-evaluated (``selection``: each network's evaluation mean during the fit, its mean and
standard deviation over the selection's shared episodes, and the index chosen). This
script prints, per run and per method:

- how much the network with the best evaluation mean lost when it was run again (the
  winner's curse the selection corrects),
- whether the selection chose another network,
- the chosen network's selection mean against its return on the benchmark's own fresh
  episodes (the selection picks the best of a few means, so it is still slightly
  optimistic),
- what a choice that weighs spread (the selection mean less one standard error of it) would
  have done: how often it picks another network, and whether a chosen network with a wide
  spread in the selection loses more on fresh episodes than a steady one (if it does not,
  the mean is the better rule),

and, per task and seeds, the benchmark's true return of SATR and EC with the selection
(``-sel<n>``) and without it (the same label without the suffix), mean over seeds.

Usage::

    python benchmarks/selection_report.py [--results-dirs DIR ...] [--minutes 3]
"""

import argparse
import glob
import json
import os
import re
from collections import defaultdict

import numpy as np

from bench_learning import _without_schedule

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIRS = [os.path.join(HERE, "results", "learning"),
                os.path.join(HERE, "results", "learning-seeds3-5")]
SEL = re.compile(r"-sel\d+$")


def load(dirs, minutes):
    """Every run record of ``minutes`` in ``dirs``."""
    records = []
    for folder in dirs:
        for path in sorted(glob.glob(os.path.join(folder, f"*_{minutes:g}min.json"))):
            with open(path) as f:
                records.append(json.load(f))
    return records


def last_return(record):
    return record["time_points"][-1]["return_mean"]


def method(label):
    return label.split("-")[0]


def run_lines(records):
    """One line per run with a selection, and the per-method summary."""
    lines, per_method = [], defaultdict(list)
    for rec in records:
        point = rec["time_points"][-1]
        sel = point.get("selection")
        if sel is None:
            continue
        evals, means, stds = sel["eval_scores"], sel["final_means"], sel["final_stds"]
        chosen = sel["chosen"]
        curse = evals[0] - means[0]
        optimism = means[chosen] - point["return_mean"]
        per_method[method(rec["algo"])].append((curse, chosen != 0, optimism))
        shortlist = ", ".join(f"{e:.0f} -> {m:.0f} ± {s:.0f}"
                              for e, m, s in zip(evals, means, stds))
        lines.append(f"{rec['task']:15s} {rec['algo']:40s} seed {rec['seed']}: "
                     f"[{shortlist}] chose {chosen}; fresh {point['return_mean']:.0f} ± "
                     f"{point['return_std']:.0f}; fit {rec['fit_seconds']:.1f} s")
    summary = []
    for name, rows in sorted(per_method.items()):
        rows = np.asarray(rows, dtype=float)
        summary.append(
            f"{name}: {len(rows)} runs; best evaluation mean less its selection mean "
            f"{rows[:, 0].mean():.0f} on average (median {np.median(rows[:, 0]):.0f}); "
            f"another network chosen in {int(rows[:, 1].sum())}; chosen network's selection "
            f"mean less its fresh return {rows[:, 2].mean():.0f} on average")
    return lines, summary


def spread_lines(records, split=150.0):
    """What a spread-weighted choice (selection mean less one standard error) would change.

    The fresh return is known only for the network the fit chose, so this cannot score the
    other rule; it shows how often the choice would differ and whether wide-spread choices
    lose more on fresh episodes (the winner's curse grows with the standard error)."""
    steady, wide, differs = [], [], 0
    for rec in records:
        point = rec["time_points"][-1]
        sel = point.get("selection")
        if sel is None:
            continue
        means, stds = np.asarray(sel["final_means"]), np.asarray(sel["final_stds"])
        chosen = sel["chosen"]
        differs += int(np.argmax(means - stds / np.sqrt(sel["episodes"])) != chosen)
        loss = means[chosen] - point["return_mean"]
        (wide if stds[chosen] >= split else steady).append(loss)
    if not steady and not wide:
        return []

    def mean(values):
        return f"{np.mean(values):.0f} ({len(values)} runs)" if values else "–"

    return [f"mean less one standard error would choose another network in {differs} of "
            f"{len(steady) + len(wide)} runs; the chosen network's selection mean less its "
            f"fresh return: {mean(steady)} when its selection std is under {split:g}, "
            f"{mean(wide)} when it is {split:g} or more"]


def versus(records):
    """Mean true return over seeds with and without the selection, per task and seeds."""
    cells = defaultdict(dict)  # (task, seeds-group, method, selected) -> {seed: return}
    for rec in records:
        label = rec["algo"]
        selected = bool(SEL.search(label))
        base = SEL.sub("", label)
        if not rec.get("reward_offset"):  # no bonus: every offset schedule is the same run
            base = _without_schedule(base)
        group = "0-2" if rec["seed"] < 3 else "3-5"
        cells[(rec["task"], group, base, selected)][rec["seed"]] = last_return(rec)
    lines = ["| task | seeds | label | without selection | with selection |",
             "|---|---|---|---|---|"]
    for (task, group, base, selected), got in sorted(cells.items()):
        if not selected:
            continue
        before = cells.get((task, group, base, False), {})

        def cell(values):
            if not values:
                return "–"
            return (", ".join(f"{values[s]:.0f}" for s in sorted(values))
                    + f" ({np.mean(list(values.values())):.0f})")

        lines.append(f"| {task} | {group} | {base} | {cell(before)} | {cell(got)} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results-dirs", nargs="+", default=DEFAULT_DIRS)
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args(argv)
    records = load(args.results_dirs, args.minutes)
    lines, summary = run_lines(records)
    if not lines:
        print("No run with a final selection (labels -sel<n>) yet.")
        return 1
    print("\n".join(lines) + "\n\n" + "\n".join(summary + spread_lines(records)) + "\n\n"
          + "\n".join(versus(records)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
