"""Short runs at a wall-clock budget, as the quick start runs: which settings learn in minutes.

Each run is one ``satrlearn train`` command (shaping on, evaluation on, every core) with a
``--max-time`` budget; its ``history.csv`` and ``run.json`` are kept as

    benchmarks/results/time_budget/<env>_satr-pop<N>-eta<eta>-h<hidden>_seed<k>.history.csv
    benchmarks/results/time_budget/<env>_satr-pop<N>-eta<eta>-h<hidden>_seed<k>.run.json

and ``summary`` prints, per run, the true return of the best and the final policy over 5
fresh episodes (what ``satrlearn train`` prints last), the distance travelled, the env steps
and generations, and writes the table into docs/tuning.md between its markers.

    python benchmarks/time_budget.py run --env Hopper-v5 --pop 64 --eta 30 --seed 0
    python benchmarks/time_budget.py run --env HalfCheetah-v5 --eta 10 --seconds 280
    python benchmarks/time_budget.py summary

A run whose files exist is skipped. Time budgets depend on the machine and on what else it
runs: run one at a time on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from run_records import load_records, replace_between_markers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "time_budget")
DOC = os.path.join(ROOT, "docs", "tuning.md")
START = "<!-- time_budget:start -->"
END = "<!-- time_budget:end -->"


def run_name(env, pop, eta, n_hidden, seed):
    """File stem of a run."""
    return f"{env}_satr-pop{pop}-eta{eta:g}-h{n_hidden}_seed{seed}"


def cmd_run(args):
    """Train once with ``satrlearn train`` and keep its history and run description."""
    name = run_name(args.env, args.pop, args.eta, args.n_hidden, args.seed)
    target = os.path.join(args.results_dir, name)
    if os.path.isfile(target + ".run.json"):
        print(f"{name}: done, skipped")
        return 0
    os.makedirs(args.results_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        cmd = ["satrlearn", "train", "--env", args.env, "--pop", str(args.pop), "--eta",
               str(args.eta), "--n-hidden", str(args.n_hidden), "--seed", str(args.seed),
               "--max-time", str(args.seconds), "--quiet", "--out", out]
        print(" ".join(cmd[:-2]), flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
            return done.returncode
        print(done.stdout.strip().splitlines()[-1])
        shutil.copy(os.path.join(out, "history.csv"), target + ".history.csv")
        shutil.copy(os.path.join(out, "run.json"), target + ".run.json")
    return 0


def _fmt(stats):
    if not stats:
        return "–", "–"
    distance = stats.get("distance_mean")
    return (f"{stats['true_return_mean']:,.0f} ± {stats['true_return_std']:,.0f}",
            "–" if distance is None else f"{distance:.1f}")


def summary_table(results):
    """The Markdown table of every run in ``results``."""
    rows = []
    for run in load_records(results, suffix=".run.json"):
        params = run["params"]
        final = run.get("final_evaluation", {})
        best, best_m = _fmt(final.get("best_policy"))
        last, _ = _fmt(final.get("policy"))
        rows.append((run["arguments"]["env"], params["pop"], params["eta"],
                     params["n_hidden"], params.get("offset_schedule", "constant"),
                     params["random_state"],
                     run["params"].get("max_time"), run["search_wall_time"], run["env_steps"],
                     run["generations"], best, best_m, last))
    lines = ["| env | pop | eta | n_hidden | offset schedule | seed | budget (s) | env steps | "
             "generations | best policy: true return (5 fresh episodes) | distance (m) | "
             "final policy |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (env, pop, eta, hidden, sched, seed, budget, _, steps, gens, best, dist, last) in rows:
        lines.append(f"| {env} | {pop} | {eta:g} | {hidden} | {sched} | {seed} | {budget:g} | "
                     f"{steps:,} | {gens} | {best} | {dist} | {last} |")
    return "\n".join(lines)


def cmd_summary(args):
    table = summary_table(args.results_dir)
    print(table)
    replace_between_markers(args.docs, START, END, table, title="# Tuning")
    print(f"written to {args.docs}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="one satrlearn train run at a time budget")
    run.add_argument("--env", default="Hopper-v5")
    run.add_argument("--pop", type=int, default=64)
    run.add_argument("--eta", type=float, default=30.0)
    run.add_argument("--n-hidden", type=int, default=256)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--seconds", type=float, default=280.0)
    run.add_argument("--results-dir", default=RESULTS)
    run.set_defaults(func=cmd_run)
    summ = sub.add_parser("summary", help="print the table and write it to docs/tuning.md")
    summ.add_argument("--results-dir", default=RESULTS)
    summ.add_argument("--docs", default=DOC)
    summ.set_defaults(func=cmd_summary)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
