"""A small hyperparameter grid at a fixed env-step budget, to check the estimators' defaults.

Each config is named
``<algo>-pop<N>-<eta|lr><step>-h<hidden>[-anti][-ep<k>][-eps<x>][-lv<x>][-kin<x>]``:
the algorithm (``satr``, ``ec``, ``es``), the population, the step size (``eta`` for SATR,
a number, ``budget`` or ``signal``; ``learning_rate`` for EC and ES), ``n_hidden``, with ``-anti``
antithetic sampling (SATR and EC), with ``-ep<k>`` ``k`` episodes per candidate and with ``-eps<x>``
``rho_eps=x`` (SATR and EC: the clip that keeps every connection at least that uncertain,
an exploration floor), and with ``-lv<x>`` (SATR, ``etabudget``) the log-odds variance the
budget's step schedule aims for instead of ``satrlearn.search.BUDGET_LOGIT_VARIANCE`` (a
probe: the module constant is set for the fit), and with ``-kin<x>`` the network's input gain
``k_in`` (without it 0.1, the gain of every run before 2026-12-04, when the library's default
became 0.3: ``-kin0.3`` is today's default network); every other
parameter keeps its default, reward shaping included (``reward_offset="auto"``). Each run
fits with ``total_timesteps=--steps`` and ``n_jobs=--n-jobs`` (default -1), then runs
``best_policy_`` and ``policy_`` on 10 fresh episodes (seeds derived from
``EVAL_SEED + seed``) and records their true returns.

Runs go in the order seed, task, config, so that every config has seed 0 on every task
before any seed 1 starts and a partial sweep stays balanced. Every run writes, in the
results folder (default ``benchmarks/results/sweep/``)::

    <task>_<config>_seed<k>_<steps>steps.json   the record
    <task>_<config>_seed<k>_<steps>steps.csv    history_, one row per generation

A run whose JSON exists is skipped; an interrupted run starts again from scratch.

    python benchmarks/sweep_defaults.py list                     # the grid and its state
    python benchmarks/sweep_defaults.py run                      # the default grid
    python benchmarks/sweep_defaults.py run --configs satr-pop64-eta30-h256 \\
        ec-pop64-lr0.15-h256 --tasks Hopper-v5 --seeds 0
    # the table, printed and written into docs/tuning.md between its markers
    python benchmarks/sweep_defaults.py summary
    python benchmarks/sweep_defaults.py summary --results-dir /tmp/sweep --docs /tmp/tuning.md

``--configs`` takes names from the grid or any other name of the same form.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from run_records import load_records, replace_between_markers, write_record

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "sweep")
DOC = os.path.join(ROOT, "docs", "tuning.md")

TASKS = ("Hopper-v5", "HalfCheetah-v5", "Walker2d-v5")
ALGOS = {"satr": "SATRSearch", "ec": "ECSearch", "es": "ESSearch"}
STEPS = 3_000_000
EVAL_EPISODES = 10
EVAL_SEED = 10_000  # evaluation seed = EVAL_SEED + training seed

#: The default grid, in the order of the table.
GRID = (
    "satr-pop64-eta15-h256",   # the defaults: the reference point of every change below
    "satr-pop64-eta30-h256",
    "satr-pop32-eta15-h256",
    "satr-pop128-eta15-h256",
    "ec-pop64-lr0.15-h256",
    "es-pop64-lr0.15-h256",
)

START = "<!-- sweep:start -->"
END = "<!-- sweep:end -->"
TITLE = "# Tuning"

NAME_PATTERN = re.compile(
    r"(satr|ec|es)-pop(\d+)-(eta|lr)([0-9]*\.?[0-9]+|budget|signal)-h(\d+)(-anti)?(?:-ep(\d+))?"
    r"(?:-eps([0-9]*\.?[0-9]+))?(?:-lv([0-9]*\.?[0-9]+))?(?:-kin([0-9]*\.?[0-9]+))?")


# --- configs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """One point of the grid."""

    algo: str       # satr | ec | es
    pop: int
    step: object    # eta for satr (a float, "budget" or "signal"), learning_rate for ec and es
    n_hidden: int
    antithetic: bool = False  # name suffix -anti (satr and ec)
    n_episodes: int = 1       # name suffix -ep<k>: episodes per candidate
    rho_eps: object = None    # name suffix -eps<x>: rho's clip (satr and ec); None: default
    logit_variance: object = None  # -lv<x>: eta="budget"'s target log-odds variance (probe)
    k_in: float = 0.1         # -kin<x>: the network's input gain; 0.1 (no suffix) is the gain
    #                           of every run before 2026-12-04, when the library's became 0.3

    @property
    def name(self):
        kind = "eta" if self.algo == "satr" else "lr"
        step = self.step if isinstance(self.step, str) else f"{self.step:g}"
        anti = "-anti" if self.antithetic else ""
        episodes = f"-ep{self.n_episodes}" if self.n_episodes != 1 else ""
        eps = "" if self.rho_eps is None else f"-eps{self.rho_eps:g}"
        lv = "" if self.logit_variance is None else f"-lv{self.logit_variance:g}"
        kin = "" if self.k_in == 0.1 else f"-kin{self.k_in:g}"
        return (f"{self.algo}-pop{self.pop}-{kind}{step}-h{self.n_hidden}{anti}{episodes}"
                f"{eps}{lv}{kin}")

    @classmethod
    def from_name(cls, name):
        """Parse ``satr-pop64-eta30-h256`` and the like.

        Raises
        ------
        argparse.ArgumentTypeError
            When the name does not have that form.
        """
        match = NAME_PATTERN.fullmatch(name.strip())
        if match is None:
            raise argparse.ArgumentTypeError(
                f"bad config name {name!r}: expected e.g. satr-pop64-eta30-h256, "
                "satr-pop64-etabudget-h256 or ec-pop64-lr0.15-h256.")
        algo, pop, kind, step, hidden, anti, episodes, eps, lv, kin = match.groups()
        if (kind == "eta") != (algo == "satr"):
            raise argparse.ArgumentTypeError(
                f"bad config name {name!r}: SATR takes eta, EC and ES take lr.")
        if step in ("budget", "signal") and algo != "satr":
            raise argparse.ArgumentTypeError(
                f"bad config name {name!r}: only SATR has a budget or signal step (etabudget, "
                "etasignal).")
        if anti and algo == "es":
            raise argparse.ArgumentTypeError(
                f"bad config name {name!r}: ES is always antithetic; -anti is for satr and ec.")
        if episodes is not None and int(episodes) < 1:
            raise argparse.ArgumentTypeError(f"bad config name {name!r}: -ep needs k >= 1.")
        if eps is not None and (algo == "es" or not 0 < float(eps) < 0.5):
            raise argparse.ArgumentTypeError(
                f"bad config name {name!r}: -eps<x> sets rho_eps of satr or ec, 0 < x < 0.5.")
        if lv is not None and (step not in ("budget", "signal") or not float(lv) > 0):
            raise argparse.ArgumentTypeError(
                f"bad config name {name!r}: -lv<x> sets the log-odds variance of SATR's "
                "etabudget, x > 0.")
        return cls(algo, int(pop), step if step in ("budget", "signal") else float(step),
                   int(hidden),
                   bool(anti), 1 if episodes is None else int(episodes),
                   None if eps is None else float(eps), None if lv is None else float(lv),
                   0.1 if kin is None else float(kin))

    def estimator(self, **params):
        """The estimator of this config; ``params`` are passed on (budget, seed, ...)."""
        import satrlearn

        cls = getattr(satrlearn, ALGOS[self.algo])
        step = {"eta": self.step} if self.algo == "satr" else {"learning_rate": self.step}
        if self.antithetic:
            step["antithetic"] = True
        if self.n_episodes != 1:
            step["n_episodes"] = self.n_episodes
        if self.rho_eps is not None:
            step["rho_eps"] = self.rho_eps
        return cls(pop=self.pop, n_hidden=self.n_hidden, network_params={"k_in": self.k_in},
                   **step, **params)


def run_name(task, config, seed, steps):
    """File name stem of a run: ``<task>_<config>_seed<k>_<steps>steps``."""
    return f"{task}_{config.name}_seed{seed}_{steps}steps"


def planned_runs(tasks, configs, seeds):
    """Every (task, config, seed), seed by seed so that a partial sweep stays balanced."""
    return [(task, config, seed) for seed in seeds for task in tasks for config in configs]


# --- one run ------------------------------------------------------------------------------
def true_return(policy, task, seed):
    """Mean, std and per-episode true returns of ``policy`` over fresh episodes."""
    from satrlearn import evaluate_policy

    mean, returns = evaluate_policy(policy, task, n_episodes=EVAL_EPISODES, seed=seed)
    return {"mean": float(mean), "std": float(np.std(returns)),
            "returns": [float(r) for r in returns]}


def run_one(task, config, seed, steps, results, n_jobs=-1):
    """Fit one config to ``steps`` env steps, evaluate, write JSON and CSV.

    Parameters
    ----------
    task : str
        Gymnasium id.
    config : Config
    seed : int
        Training seed; the evaluation uses ``EVAL_SEED + seed``.
    steps : int
        ``total_timesteps`` of the fit.
    results : str
        Folder of the results.
    n_jobs : int
        Workers of the fit; the result does not depend on it, only the time does.

    Returns
    -------
    dict or None
        The record written, or None when the fit was interrupted (nothing is written).
    """
    from satrlearn.callbacks import write_history

    import satrlearn.search

    est = config.estimator(total_timesteps=steps, n_jobs=n_jobs, random_state=seed, verbose=0)
    default_variance = satrlearn.search.BUDGET_LOGIT_VARIANCE
    if config.logit_variance is not None:  # a probe, not a parameter: the parent computes eta
        satrlearn.search.BUDGET_LOGIT_VARIANCE = config.logit_variance
    t0 = time.perf_counter()
    try:
        est.fit(task)
    finally:
        satrlearn.search.BUDGET_LOGIT_VARIANCE = default_variance
    fit_seconds = time.perf_counter() - t0
    if est.interrupted_:
        return None
    eval_seed = EVAL_SEED + seed
    hist = est.history_
    eval_means = np.asarray(hist.get("eval_mean", []), dtype=float)
    name = run_name(task, config, seed, steps)
    write_history(hist, os.path.join(results, name + ".csv"))
    record = {
        "config": config.name, "algo": config.algo, "pop": config.pop, "step": config.step,
        "n_hidden": config.n_hidden, "estimator": type(est).__name__,
        "task": task, "seed": seed, "steps": steps,
        "reward_offset": float(est.reward_offset_),
        "eval_episodes": EVAL_EPISODES, "eval_seed": eval_seed,
        "best": true_return(est.best_policy_, task, eval_seed),
        "final": true_return(est.policy_, task, eval_seed),
        "best_eval_during_fit": (float(np.nanmax(eval_means))
                                 if np.isfinite(eval_means).any() else None),
        "env_steps": int(est.env_steps_), "generations": int(est.n_generations_),
        "final_entropy": float(hist["entropy"][-1]),
        "wall_time": float(est.wall_time_), "fit_seconds": fit_seconds,
        "seconds": time.perf_counter() - t0,
    }
    return write_record(results, name, record)


def cmd_run(args):
    """Run every planned run that has no JSON yet."""
    os.makedirs(args.results_dir, exist_ok=True)
    runs = planned_runs(args.tasks, args.configs, args.seeds)
    for i, (task, config, seed) in enumerate(runs, 1):
        name = run_name(task, config, seed, args.steps)
        if os.path.isfile(os.path.join(args.results_dir, name + ".json")):
            print(f"[{i}/{len(runs)}] {name}: done, skipped", flush=True)
            continue
        print(f"[{i}/{len(runs)}] {name} ...", flush=True)
        record = run_one(task, config, seed, args.steps, args.results_dir, args.n_jobs)
        if record is None:
            print(f"{name}: interrupted; it will start again from scratch next time.")
            return 130
        print(f"    {record['generations']} generations, {record['env_steps']} env steps, "
              f"{record['seconds']:.0f} s; true return best_policy_ "
              f"{record['best']['mean']:.1f} ± {record['best']['std']:.1f}, policy_ "
              f"{record['final']['mean']:.1f} ± {record['final']['std']:.1f}", flush=True)
    return 0


def cmd_list(args):
    """Print the planned runs and whether each is done."""
    runs = planned_runs(args.tasks, args.configs, args.seeds)
    done = 0
    for task, config, seed in runs:
        name = run_name(task, config, seed, args.steps)
        ok = os.path.isfile(os.path.join(args.results_dir, name + ".json"))
        done += ok
        print(f"  {name:<60} {'done' if ok else '-'}")
    print(f"{done} of {len(runs)} runs done")
    return 0


# --- summary ------------------------------------------------------------------------------
def mean_ranks(cells, configs, tasks):
    """Mean rank of each config over the tasks it has results on (1 = best, ties shared).

    Parameters
    ----------
    cells : dict
        ``(config, task) -> mean return``.
    configs, tasks : list of str

    Returns
    -------
    dict
        ``config -> mean rank`` (NaN for a config without any result).
    """
    ranks = defaultdict(list)
    for task in tasks:
        scores = {c: cells[(c, task)] for c in configs if (c, task) in cells}
        for c, score in scores.items():
            higher = sum(other > score for other in scores.values())
            tied = sum(other == score for other in scores.values())  # includes c itself
            ranks[c].append(1 + higher + (tied - 1) / 2)
    return {c: float(np.mean(ranks[c])) if ranks[c] else float("nan") for c in configs}


def summary_table(records):
    """One Markdown table per step budget: configs x tasks, then the mean rank.

    Parameters
    ----------
    records : list of dict
        Run records as written by :func:`run_one`.

    Returns
    -------
    str
    """
    if not records:
        return "No runs yet."
    blocks = []
    for steps in sorted({r["steps"] for r in records}):
        subset = [r for r in records if r["steps"] == steps]
        returns = defaultdict(list)  # (config, task) -> best-policy true returns
        for r in subset:
            returns[(r["config"], r["task"])].append(r["best"]["mean"])
        names = {r["config"] for r in subset}
        configs = [c for c in GRID if c in names] + sorted(names - set(GRID))
        found = {r["task"] for r in subset}
        tasks = [t for t in TASKS if t in found] + sorted(found - set(TASKS))
        cells = {key: float(np.mean(values)) for key, values in returns.items()}
        ranks = mean_ranks(cells, configs, tasks)
        note = (f"{steps:,} env steps per run. Cells: true return of `best_policy_` over "
                f"{EVAL_EPISODES} fresh episodes, mean over seeds (each seed's value); "
                "mean rank: 1 = best, over the tasks the config has run on.")
        lines = [note, "",
                 "| config | " + " | ".join(tasks) + " | mean rank |",
                 "|---|" + "---|" * (len(tasks) + 1)]
        for c in configs:
            row = [f"{round(cells[(c, t)]):,} ({', '.join(f'{v:,.0f}' for v in returns[(c, t)])})"
                   if (c, t) in cells else "–" for t in tasks]
            lines.append(f"| {c} | " + " | ".join(row) + f" | {ranks[c]:.2f} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def cmd_summary(args):
    """Print the table and write it into the docs page between the markers."""
    records = load_records(args.results_dir)
    text = (f"*Generated by `python benchmarks/sweep_defaults.py summary` from "
            f"{len(records)} runs.*\n\n" + summary_table(records) + "\n")
    print(text)
    replace_between_markers(args.docs, START, END, text, title=TITLE)
    print(f"written to {args.docs}")
    return 0


# --- command line -------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def grid_options(p):
        p.add_argument("--tasks", nargs="+", default=list(TASKS))
        p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
        p.add_argument("--configs", nargs="+", type=Config.from_name,
                       default=[Config.from_name(n) for n in GRID],
                       help="config names (default: the whole grid: " + " ".join(GRID) + ")")
        p.add_argument("--steps", type=int, default=STEPS,
                       help=f"env steps per run, total_timesteps (default {STEPS:,})")
        p.add_argument("--results-dir", default=RESULTS)
        p.add_argument("--n-jobs", type=int, default=-1,
                       help="workers per fit (default -1: every core). Results do not depend "
                            "on it: two sweeps with --n-jobs 1 and different --seeds can share "
                            "the cores")

    grid_options(sub.add_parser("run", help="run the planned runs that have no JSON yet"))
    grid_options(sub.add_parser("list", help="list the planned runs and their state"))
    summ = sub.add_parser("summary", help="print the table and write it into docs/tuning.md")
    summ.add_argument("--results-dir", default=RESULTS)
    summ.add_argument("--docs", default=DOC, help="the Markdown page to update")

    args = parser.parse_args(argv)
    if args.command == "summary":
        return cmd_summary(args)
    if args.steps < 1:
        parser.error("--steps must be a positive number of env steps.")
    return cmd_run(args) if args.command == "run" else cmd_list(args)


if __name__ == "__main__":
    sys.exit(main())
