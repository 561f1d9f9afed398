"""How far the searches get in 5 and 10 minutes of wall time on this machine.

For every task, seed and algorithm, one fit with the estimator's documented defaults
(``n_jobs=-1``, ``random_state=seed``) stopped by ``max_time``: 10 minutes, 15 on
Walker2d-v5 (``--minutes`` scales both). A callback keeps a copy of ``best_policy_`` the
first time the fit's cumulative ``wall_time`` reaches each time point (half the budget and
the whole budget, plus 15 minutes on Walker2d-v5), with the env steps and the generation at
that moment. After the fit, each kept policy runs 10 fresh episodes (seeds derived from
``EVAL_SEED + seed``, never the training seed) and its true return, mean and std over the
episodes, is recorded.

Every run writes, in the results folder (default ``benchmarks/results/learning/``)::

    <task>_<algo>_seed<k>_<budget>min.json   the record: time points, returns, machine
    <task>_<algo>_seed<k>_<budget>min.csv    history_, one row per generation
    <task>_<algo>_seed<k>_<budget>min/       the kept policies, best_at_<m>min.npz

A run whose JSON exists is skipped, so the command can be repeated across sessions; a run
interrupted midway has no JSON and starts again from scratch.

    # SATR, the three tasks, seeds 0 1 2 (about 1 h 45 min)
    python benchmarks/bench_learning.py run
    python benchmarks/bench_learning.py run --algo ec --tasks Hopper-v5 --seeds 0
    # another population or step: the runs are labelled satr-pop32-etabudget and the like
    python benchmarks/bench_learning.py run --pop 32 --eta budget
    # the input gain: runs whose k_in is not 0.1 (the records before 2026-12-04) get a
    # -kin<K> label, the library's default 0.3 included (satr-kin0.3, ec-kin0.3, ...)
    python benchmarks/bench_learning.py run --algo ec --k-in 0.3
    # 3 minutes on every task, Walker2d-v5 included (the schedule of eta="budget" spreads
    # over the budget, so a point inside a longer run is not a shorter run)
    python benchmarks/bench_learning.py run --minutes 3 --same-budget --algo es
    # the reward offset's schedule: "constant" runs carry no suffix (as every record before
    # 2026-12-04), others -offlinear, -offsurvival<share> (the default since 2026-12-04, so a
    # default run is labelled -offsurvival0.25)
    python benchmarks/bench_learning.py run --minutes 3 --same-budget --offset-schedule constant
    # SATR's budget schedule front-loaded (SATRSearch(budget_power=...)): labelled -bp<power>
    python benchmarks/bench_learning.py run --minutes 3 --same-budget --budget-power 0.5
    # SATR's update as the paper writes it (a fixed eta) with a higher floor on the
    # probabilities (rho_eps): labelled -eta<x>-...-eps<x>
    python benchmarks/bench_learning.py run --same-budget --eta 8 --rho-eps 0.005
    # a smoke test: 6 s budgets into a scratch folder
    python benchmarks/bench_learning.py run --minutes 0.1 --tasks Hopper-v5 --seeds 0 \\
        --results-dir /tmp/learning
    # the table, printed and written into docs/benchmarks.md between its markers
    python benchmarks/bench_learning.py summary
    python benchmarks/bench_learning.py summary --results-dir /tmp/learning \\
        --docs /tmp/benchmarks.md
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from collections import defaultdict

import numpy as np
from run_records import (default_k_in, load_records, replace_between_markers,
                         write_record)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "learning")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")

TASKS = ("Hopper-v5", "Walker2d-v5", "HalfCheetah-v5")
ALGOS = {"satr": "SATRSearch", "ec": "ECSearch", "es": "ESSearch"}
MINUTES = 10.0                      # the budget, and the last time point but on Walker2d
LONGER_TASKS = ("Walker2d-v5",)     # these also get a time point at 1.5 x MINUTES
LEGACY_K_IN = 0.1                   # the input gain of every record before 2026-12-04
LEGACY_SATR_ETA = "budget"          # SATRSearch's eta in every record before 2026-12-05
#: the estimators' default populations when the first records were made (SATR's is 16
#: since 2026-12-04): a run at another population, a default included, is labelled -pop<N>
LEGACY_POPS = {"satr": 32, "ec": 64, "es": 64}
EVAL_EPISODES = 10
EVAL_SEED = 10_000                  # evaluation seed = EVAL_SEED + training seed

START = "<!-- bench_learning:start -->"
END = "<!-- bench_learning:end -->"
HEADING = "## Learning at 5 and 10 minutes: `python benchmarks/bench_learning.py`"


# --- small helpers ------------------------------------------------------------------------
def json_params(est):
    """The estimator's parameters that JSON can hold (callbacks and the like left out)."""
    out = {}
    for key, value in est.get_params().items():
        if value is None or isinstance(value, (bool, int, float, str)):
            out[key] = value
        elif isinstance(value, (tuple, list)) and all(
                isinstance(v, (int, float)) for v in value):  # e.g. rho_eps=(start, end)
            out[key] = list(value)
    return out


# --- one run ------------------------------------------------------------------------------
def time_points(task, minutes, longer=True):
    """The minutes at which a run keeps its best policy; the last one is its budget.

    Parameters
    ----------
    task : str
        Gymnasium id.
    minutes : float
        The budget of the tasks that are not in ``LONGER_TASKS``.
    longer : bool, default=True
        False gives every task the same budget.

    Returns
    -------
    list of float
        ``[minutes / 2, minutes]``, and ``1.5 * minutes`` for the tasks in ``LONGER_TASKS``
        when ``longer``.
    """
    points = [minutes / 2, minutes]
    if longer and task in LONGER_TASKS:
        points.append(1.5 * minutes)
    return points


def default_pop(algo):
    """The population of ``algo``'s estimator by default."""
    import satrlearn

    return getattr(satrlearn, ALGOS[algo])().pop


def default_eta():
    """SATRSearch's ``eta`` by default."""
    import satrlearn

    return satrlearn.SATRSearch().eta


def default_offset_schedule(algo):
    """The reward offset's schedule of ``algo``'s estimator by default."""
    import satrlearn

    return getattr(satrlearn, ALGOS[algo])().offset_schedule


def run_name(task, algo, seed, minutes, longer=True):
    """File name stem of a run: ``<task>_<algo>_seed<k>_<budget>min``."""
    budget = time_points(task, minutes, longer)[-1]
    return f"{task}_{algo}_seed{seed}_{budget:g}min"


def run_label(algo, pop=None, eta=None, k_in=None, offset_schedule=None):
    """``algo``, or ``algo-pop<N>-eta<X>`` when the population or SATR's step is not the
    default, with ``-kin<K>`` when the network's input gain is not ``LEGACY_K_IN``,
    ``-off<schedule>`` when the reward offset's schedule is not ``"constant"`` and
    ``-ev<n>`` when the run evaluates every ``n`` generations, not ``LEGACY_EVAL_EVERY``."""
    label = algo
    if pop is not None:
        label += f"-pop{pop}"
    if eta is None and algo == "satr" and default_eta() != LEGACY_SATR_ETA:
        eta = default_eta()  # runs of the default before it changed carry no -eta
    if eta is not None:
        label += f"-eta{eta if isinstance(eta, str) else format(eta, 'g')}"
    if k_in is not None and k_in != LEGACY_K_IN:
        label += f"-kin{k_in:g}"
    if offset_schedule not in (None, "constant"):
        label += f"-off{offset_schedule}"
        if offset_schedule == "survival" and survival_full_share() != 1.0:
            label += f"{survival_full_share():g}"
    if algo in BUDGET_POWER and BUDGET_POWER[algo] != 1.0:
        label += f"-bp{BUDGET_POWER[algo]:g}"
    if algo in RHO_EPS:
        floor = RHO_EPS[algo]
        label += "-eps" + ("to".join(f"{v:g}" for v in floor) if isinstance(floor, tuple)
                           else f"{floor:g}")
    if final_shortlist() > 1:
        label += f"-sel{final_shortlist()}"
    if N_EPISODES.get(algo, 1) != 1:
        label += f"-ep{N_EPISODES[algo]}"
    interval = eval_interval(algo, pop)
    if interval != LEGACY_EVAL_EVERY:
        label += f"-ev{interval}"
    return label


#: ``n_episodes`` per candidate when not the estimator's default of 1 (``--n-episodes``),
#: by algo
N_EPISODES = {}

#: ``eval_every`` (generations between evaluations) when not the estimator's default
#: (``--eval-every``), by algo
EVAL_EVERY = {}
#: SATR's ``budget_power`` when given (``--budget-power``), by algo
BUDGET_POWER = {}
def _floor(text):
    """``--rho-eps``: one number, or ``START,END`` (a pair), parsed as ``satrlearn train``
    parses it."""
    from satrlearn.cli import _probability_floor

    return _probability_floor(text)


def _eta(text):
    """``--eta``: a number, ``steady``, ``budget`` or ``signal``, parsed as ``satrlearn
    train`` parses it."""
    from satrlearn.cli import _eta as parse

    return parse(text)


#: ``rho_eps`` (the clip that keeps every connection at least that uncertain) when given
#: (``--rho-eps``, SATR and EC), by algo
RHO_EPS = {}
#: Generations between evaluations of every run before ``eval_every="auto"`` (2026-12-05);
#: runs that evaluate at another interval are labelled ``-ev<n>``.
LEGACY_EVAL_EVERY = 10


def eval_interval(algo, pop=None):
    """Generations between evaluations of a run of ``algo`` (its estimator's
    ``eval_interval()`` with this run's population, episodes and ``eval_every``)."""
    import satrlearn

    kw = {} if pop is None else {"pop": pop}
    if algo in N_EPISODES:
        kw["n_episodes"] = N_EPISODES[algo]
    if algo in EVAL_EVERY:
        kw["eval_every"] = EVAL_EVERY[algo]
    return getattr(satrlearn, ALGOS[algo])(**kw).eval_interval()


def final_shortlist():
    """``satrlearn.search.FINAL_SHORTLIST`` as this process has it (``--final-shortlist``):
    above 1, ``best_policy_`` is chosen at the end of the fit by a final selection."""
    from satrlearn import search

    return search.FINAL_SHORTLIST


def survival_full_share():
    """``satrlearn.shaping.SURVIVAL_FULL_SHARE`` as this process has it (``--survival-full``)."""
    from satrlearn import shaping

    return shaping.SURVIVAL_FULL_SHARE


def make_estimator(algo, seed, max_time, callbacks, pop=None, eta=None, k_in=None,
                   offset_schedule=None):
    """The estimator of ``algo`` with its defaults (but ``pop``, ``eta``, the input gain
    ``k_in`` and the reward offset's schedule when given), stopped by ``max_time`` seconds."""
    import satrlearn

    cls = getattr(satrlearn, ALGOS[algo])
    extra = {} if pop is None else {"pop": pop}
    if eta is not None:
        extra["eta"] = eta
    if k_in is not None:
        extra["network_params"] = {"k_in": k_in}
    if offset_schedule is not None:
        extra["offset_schedule"] = offset_schedule
    if algo in N_EPISODES:
        extra["n_episodes"] = N_EPISODES[algo]
    if algo in EVAL_EVERY:
        extra["eval_every"] = EVAL_EVERY[algo]
    if algo in BUDGET_POWER:
        extra["budget_power"] = BUDGET_POWER[algo]
    if algo in RHO_EPS:
        extra["rho_eps"] = RHO_EPS[algo]
    return cls(max_time=max_time, n_jobs=-1, random_state=seed, verbose=0,
               callbacks=callbacks, **extra)


def run_one(task, algo, seed, minutes, results, pop=None, eta=None, longer=True, k_in=None,
            offset_schedule=None):
    """Train, keep the best policy at each time point, evaluate, write JSON and CSV.

    Parameters
    ----------
    task, algo : str
        Gymnasium id and a key of ``ALGOS``.
    seed : int
        Training seed; the evaluation uses ``EVAL_SEED + seed``.
    minutes : float
        Budget scale (see :func:`time_points`).
    results : str
        Folder of the results.
    pop, eta, k_in, offset_schedule : optional
        Population, SATR's ``eta``, the input gain and the reward offset's schedule when not
        the estimator's defaults.
    longer : bool, default=True
        Whether the tasks in ``LONGER_TASKS`` get 1.5 times the budget.

    Returns
    -------
    dict or None
        The record written, or None when the fit was interrupted (nothing is written).
    """
    from satrlearn import RSNNPolicy, evaluate_policy
    from satrlearn.callbacks import write_history

    label = run_label(algo, pop, eta, default_k_in() if k_in is None else k_in,
                      default_offset_schedule(algo) if offset_schedule is None
                      else offset_schedule)
    name = run_name(task, label, seed, minutes, longer)
    policy_dir = os.path.join(results, name)
    os.makedirs(policy_dir, exist_ok=True)
    points = time_points(task, minutes, longer)
    kept = []  # one dict per time point reached, in order

    def keep_best(est, record):
        # a generation may cross several time points when generations are long
        while len(kept) < len(points) and record["wall_time"] >= 60 * points[len(kept)]:
            label = f"{points[len(kept)]:g}"
            path = os.path.join(policy_dir, f"best_at_{label}min.npz")
            est.best_policy_.save(path)
            kept.append({"minutes": points[len(kept)], "policy": os.path.relpath(path, results),
                         "wall_time": float(record["wall_time"]),
                         "generation": int(record["generation"]),
                         "env_steps": int(record["env_steps"])})
        return True

    est = make_estimator(algo, seed, 60 * points[-1], [keep_best], pop, eta, k_in,
                         offset_schedule)
    t0 = time.perf_counter()
    est.fit(task)
    fit_seconds = time.perf_counter() - t0
    if est.interrupted_:
        return None

    if est.selection_ is not None and len(kept) == len(points):
        # the last time point is the end of the fit: its policy is the final selection's
        est.best_policy_.save(os.path.join(results, kept[-1]["policy"]))
        kept[-1]["selection"] = est.selection_
    eval_seed = EVAL_SEED + seed
    for point in kept:
        policy = RSNNPolicy.load(os.path.join(results, point["policy"]))
        mean, returns = evaluate_policy(policy, task, n_episodes=EVAL_EPISODES, seed=eval_seed)
        point.update(return_mean=float(mean), return_std=float(np.std(returns)),
                     returns=[float(r) for r in returns])

    write_history(est.history_, os.path.join(results, name + ".csv"))
    record = {
        "task": task, "algo": label, "estimator": type(est).__name__, "seed": seed,
        "budget_minutes": points[-1], "max_time": 60 * points[-1],
        "reward_offset": float(est.reward_offset_), "params": json_params(est),
        "eval_episodes": EVAL_EPISODES, "eval_seed": eval_seed,
        "time_points": kept,
        "generations": int(est.n_generations_), "env_steps": int(est.env_steps_),
        "wall_time": float(est.wall_time_), "fit_seconds": fit_seconds,
    }
    return write_record(results, name, record)


def cmd_run(args):
    """Run every (task, algo, seed) of the command line that has no JSON yet."""
    os.makedirs(args.results_dir, exist_ok=True)
    if args.survival_full is not None:
        from satrlearn import shaping

        shaping.SURVIVAL_FULL_SHARE = args.survival_full
    if args.budget_power is not None:
        if args.algo != "satr" or args.eta not in (None, "budget"):
            print("--budget-power shapes the schedule of SATR's eta='budget': use it with "
                  "--algo satr and without a number for --eta.", file=sys.stderr)
            return 2
        BUDGET_POWER[args.algo] = args.budget_power
    if args.rho_eps is not None:
        if args.algo == "es":
            print("--rho-eps clips the connection probabilities of --algo satr or ec, not es.",
                  file=sys.stderr)
            return 2
        if isinstance(args.rho_eps, tuple) and args.algo != "satr":
            print("--rho-eps START,END (a floor that falls over the budget) is SATR's; "
                  "give EC one number.", file=sys.stderr)
            return 2
        RHO_EPS[args.algo] = args.rho_eps
    if args.n_episodes is not None:
        N_EPISODES[args.algo] = args.n_episodes
    if args.eval_every is not None:
        EVAL_EVERY[args.algo] = args.eval_every
    if args.final_shortlist is not None:
        from satrlearn import search

        search.FINAL_SHORTLIST = args.final_shortlist
    runs = [(task, seed) for seed in args.seeds for task in args.tasks]
    longer = not args.same_budget
    for i, (task, seed) in enumerate(runs, 1):
        k_in = default_k_in() if args.k_in is None else args.k_in
        schedule = (default_offset_schedule(args.algo) if args.offset_schedule is None
                    else args.offset_schedule)
        pop = args.pop
        if pop is None and default_pop(args.algo) != LEGACY_POPS[args.algo]:
            pop = default_pop(args.algo)
        name = run_name(task, run_label(args.algo, pop, args.eta, k_in, schedule), seed,
                        args.minutes, longer)
        if os.path.isfile(os.path.join(args.results_dir, name + ".json")):
            print(f"[{i}/{len(runs)}] {name}: done, skipped", flush=True)
            continue
        print(f"[{i}/{len(runs)}] {name}: training for "
              f"{time_points(task, args.minutes, longer)[-1]:g} min ...", flush=True)
        record = run_one(task, args.algo, seed, args.minutes, args.results_dir, pop,
                         args.eta, longer, args.k_in, args.offset_schedule)
        if record is None:
            print(f"{name}: interrupted; it will start again from scratch next time.")
            return 130
        points = ", ".join(f"{p['minutes']:g} min {p['return_mean']:.1f} ± "
                           f"{p['return_std']:.1f} ({p['env_steps']} steps)"
                           for p in record["time_points"])
        print(f"    {record['generations']} generations, {record['env_steps']} env steps, "
              f"reward_offset {record['reward_offset']}; true return at {points}", flush=True)
    return 0


# --- summary ------------------------------------------------------------------------------
def _mean_std(values):
    """``mean ± std`` over seeds (sample std), or the single value."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{round(values[0])}"
    return f"{round(values.mean())} ± {round(values.std(ddof=1))}"


def summary_table(records):
    """The Markdown table: one row per task, algorithm, budget and time point.

    Parameters
    ----------
    records : list of dict
        Run records as written by :func:`run_one`.

    Returns
    -------
    str
        The table, or a sentence saying that there are no runs.
    """
    if not records:
        return "No runs yet."
    # (task, algo, budget) -> minutes -> list of (seed, time point)
    groups = defaultdict(lambda: defaultdict(list))
    for rec in records:
        for point in rec["time_points"]:
            groups[(rec["task"], rec["algo"], rec["budget_minutes"])][point["minutes"]].append(
                (rec["seed"], point))

    def order(key):
        task, algo, budget = key
        return (TASKS.index(task) if task in TASKS else len(TASKS), task,
                list(ALGOS).index(algo) if algo in ALGOS else len(ALGOS), algo, budget)

    header = ("| task | algo | budget | at | true return, mean ± std over seeds (n) | "
              "per seed | env steps (mean) |")
    lines = [header, "|---|---|---|---|---|---|---|"]
    for key in sorted(groups, key=order):
        task, algo, budget = key
        for minutes in sorted(groups[key]):
            members = sorted(groups[key][minutes], key=lambda m: m[0])
            returns = [p["return_mean"] for _, p in members]
            per_seed = ", ".join(f"{s}: {round(p['return_mean'])}" for s, p in members)
            steps = np.mean([p["env_steps"] for _, p in members])
            lines.append(f"| {task} | {algo} | {budget:g} min | {minutes:g} min | "
                         f"{_mean_std(returns)} ({len(members)}) | {per_seed} | "
                         f"{steps:,.0f} |")
    return "\n".join(lines)


#: the labels of each method's defaults, in the order they are looked up: with the input
#: gain of the records before 2026-12-04 (0.1) and with today's (``-kin0.3``)
DEFAULT_LABELS = {"SATR": ("satr", "satr-pop32-etabudget"), "EC": ("ec",), "ES": ("es",)}
KIN_LABELS = {"SATR": ("satr-kin0.3", "satr-pop32-etabudget-kin0.3"), "EC": ("ec-kin0.3",),
              "ES": ("es-kin0.3",)}
#: and with the reward offset scaled by the episodes' survival, whole from a quarter of the
#: time limit (``-offsurvival0.25``, the defaults since 2026-12-04)
SURVIVAL_LABELS = {m: tuple(f"{label}-offsurvival0.25" for label in labels)
                   for m, labels in KIN_LABELS.items()}
#: and with SATR at population 16 (its default since 2026-12-04)
POP16_LABELS = {"SATR": ("satr-pop16-kin0.3-offsurvival0.25",),
                "EC": SURVIVAL_LABELS["EC"], "ES": SURVIVAL_LABELS["ES"]}
#: and with the final selection of ``best_policy_`` (the library's since 2026-12-05)
SELECTION_LABELS = {m: tuple(f"{label}-sel4" for label in labels)
                    for m, labels in POP16_LABELS.items()}
#: and with ``eval_every="auto"`` (since 2026-12-05): SATR at population 16 evaluates every
#: 40 generations; EC and ES at 64 every 10, as before
AUTO_EVAL_LABELS = {"SATR": ("satr-pop16-kin0.3-offsurvival0.25-sel4-ev40",),
                    "EC": SELECTION_LABELS["EC"], "ES": SELECTION_LABELS["ES"]}
#: and with SATR's ``eta="steady"`` and the floor falling from 0.01 to 0.001 (the defaults
#: since 2026-12-05's second session; at population 16 the same as ``--eta 8 --rho-eps
#: 0.01,0.001``)
STEADY_LABELS = {"SATR": ("satr-pop16-eta8-kin0.3-offsurvival0.25-eps0.01to0.001-sel4-ev40",
                          "satr-pop16-etasteady-kin0.3-offsurvival0.25-sel4-ev40"),
                 "EC": SELECTION_LABELS["EC"], "ES": SELECTION_LABELS["ES"]}
#: and the same defaults at population 32 (``eta="steady"`` gives 11.7 there; evaluation
#: every 20 generations): ``--pop 32``, or a default run once 32 is the default
POP32_STEADY_LABELS = {"SATR": ("satr-pop32-etasteady-kin0.3-offsurvival0.25-sel4-ev20",
                                "satr-etasteady-kin0.3-offsurvival0.25-sel4-ev20"),
                       "EC": SELECTION_LABELS["EC"], "ES": SELECTION_LABELS["ES"]}


def _without_schedule(label):
    """``label`` without its ``-off<schedule>`` part (``satr-kin0.3-offsurvival0.25`` ->
    ``satr-kin0.3``): on a task whose reward has no survival bonus every schedule is the
    same run."""
    return re.sub(r"-off[a-z]+[0-9.]*", "", label)


def versus_table(records, labels=None):
    """SATR's defaults against the better of EC and ES, at the same budget and time point.

    One row per task, budget and late time point (more than 60 % of the budget: the budget
    itself, and 10 minutes of a 15-minute run): each method's mean ± std over seeds and
    whether SATR's mean is at least the larger of EC's and ES's. Only runs of the methods'
    defaults count (``labels``, default :data:`DEFAULT_LABELS`).
    """
    labels = DEFAULT_LABELS if labels is None else labels
    cells = defaultdict(lambda: defaultdict(list))  # (task, budget, at) -> method -> returns
    for rec in records:
        algo, names_of = rec["algo"], labels
        if not rec.get("reward_offset"):  # no bonus to offset: the schedule changes nothing
            algo = _without_schedule(algo)
            names_of = {m: {_without_schedule(n) for n in names} for m, names in labels.items()}
        method = next((m for m, names in names_of.items() if algo in names), None)
        if method is None:
            continue
        for point in rec["time_points"]:
            if point["minutes"] > 0.6 * rec["budget_minutes"]:
                key = (rec["task"], rec["budget_minutes"], point["minutes"])
                cells[key][method].append(point["return_mean"])
    if not cells:
        return "No runs of the defaults yet."

    def order(key):
        task = key[0]
        return (TASKS.index(task) if task in TASKS else len(TASKS), task, key[1], key[2])

    lines = ["| task | budget | at | " + " | ".join(DEFAULT_LABELS) +
             " | SATR ≥ better of EC and ES? |", "|---|---|---|---|---|---|---|"]
    for key in sorted(cells, key=order):
        task, budget, at = key
        got = cells[key]
        row = [_mean_std(got[m]) + f" ({len(got[m])})" if got[m] else "–"
               for m in DEFAULT_LABELS]
        ran = [m for m in ("EC", "ES") if got[m]]
        if got["SATR"] and ran:
            best = max(np.mean(got[m]) for m in ran)
            verdict = ("yes" if np.mean(got["SATR"]) >= best else "no") + \
                f" ({np.mean(got['SATR']) - best:+.0f})"
            if len(ran) == 1:  # a partial verdict must say so
                verdict += f", against {ran[0]} only"
        else:
            verdict = "–"
        lines.append(f"| {task} | {budget:g} min | {at:g} min | " + " | ".join(row) +
                     f" | {verdict} |")
    return "\n".join(lines)


def summary_text(records):
    """The generated block of docs/benchmarks.md: a note on the protocol and the table."""
    machines = sorted({f"{r['machine'].get('cpu_count')} cores, "
                       f"{r['machine'].get('platform')}" for r in records})
    offsets = sorted({f"{r['task']}: {r['reward_offset']}" for r in records})
    note = (f"*Generated by `python benchmarks/bench_learning.py summary` from "
            f"{len(records)} runs.* Each run is one fit with the estimator's defaults (an algo "
            "label such as `satr-pop32-etabudget`: that population and `eta`) and "
            "`n_jobs=-1`, stopped by `max_time`; at each time point the run keeps "
            "`best_policy_` (the policy with the best evaluation mean so far; before the "
            "first evaluation, the current deterministic network), which then runs "
            f"{EVAL_EPISODES} fresh episodes. Cells: mean over the episodes, then mean "
            "± sample std over seeds (number of seeds), each seed's value, and the env steps "
            "the population had used at that moment.")
    if records:
        note += (" Machine: " + "; ".join(machines) + ". reward_offset used: "
                 + ", ".join(offsets) + ".")
    return (note + "\n\n" + summary_table(records) + "\n\n" +
            "SATR's defaults (population 32 until 2026-12-04, `eta=\"budget\"`) against EC's "
            "and ES's (population 64), true return at the same budget and time point, mean ± std "
            "over seeds (number of seeds); the last column gives SATR's mean less the "
            "better of the other two (input gain `k_in=0.1`, the records before 2026-12-04):"
            "\n\n" + versus_table(records) + "\n\nThe same with the input gain `k_in=0.3` "
            "(labels `-kin0.3`, the default since 2026-12-04):\n\n"
            + versus_table(records, KIN_LABELS) + "\n\nThe same with `k_in=0.3` and "
            "`offset_schedule=\"survival\"`, the offset whole from a quarter of the time "
            "limit (labels `-kin0.3-offsurvival0.25`):\n\n"
            + versus_table(records, SURVIVAL_LABELS) + "\n\nThe same with SATR at "
            "population 16 (`satr-pop16-kin0.3-offsurvival0.25`): the defaults of all three "
            "since 2026-12-04:\n\n" + versus_table(records, POP16_LABELS) + "\n\nThe same "
            "defaults with the final selection of `best_policy_` (labels `-sel4`, the "
            "library's since 2026-12-05: at the end of the fit the 4 networks with the best "
            "evaluation means run 10 more episodes, and the best of them there is the last "
            "time point's policy):\n\n" + versus_table(records, SELECTION_LABELS) + "\n\n"
            "The same with `eval_every=\"auto\"` (the default since 2026-12-05: one "
            "evaluation per 640 training episodes, so SATR at population 16 evaluates every "
            "40 generations, label `-ev40`, and EC and ES at 64 every 10 as before):\n\n"
            + versus_table(records, AUTO_EVAL_LABELS) + "\n\nThe same with SATR's "
            "`eta=\"steady\"` and `rho_eps` falling from 0.01 to 0.001 over the budget (the "
            "defaults since the second session of 2026-12-05; labels `-eta8-...-eps0.01to0.001`, "
            "the same setting at population 16, and `-etasteady`):\n\n"
            + versus_table(records, STEADY_LABELS) + "\n\nThe same defaults with SATR at "
            "population 32 (`--pop 32`: `eta=\"steady\"` gives 11.7 there, evaluation every "
            "20 generations; label `-pop32-etasteady`):\n\n"
            + versus_table(records, POP32_STEADY_LABELS) + "\n")


def cmd_summary(args):
    """Print the table and write it into the docs page between the markers."""
    records = load_records(args.results_dir)
    text = summary_text(records)
    print(text)
    replace_between_markers(args.docs, START, END, text, heading=HEADING)
    print(f"written to {args.docs}")
    return 0


# --- command line -------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train and evaluate the runs that have no JSON yet")
    run.add_argument("--tasks", nargs="+", default=list(TASKS))
    run.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    run.add_argument("--algo", choices=list(ALGOS), default="satr")
    run.add_argument("--pop", type=int, default=None, help="population (default: the "
                     "estimator's)")
    run.add_argument("--eta", type=_eta, default=None, help="SATR's eta, a number, "
                     "'steady', 'budget' or 'signal' (default: SATRSearch's)")
    run.add_argument("--k-in", type=float, default=None,
                     help="the network's input gain (default: the library's, 0.3 since "
                          "2026-12-04; runs with another gain than 0.1 are labelled -kin<K>)")
    run.add_argument("--offset-schedule", choices=("constant", "linear", "survival"),
                     default=None, help="the reward offset's schedule (default: the "
                     "estimator's; runs with another than 'constant' are labelled -off<name>)")
    run.add_argument("--survival-full", type=float, default=None,
                     help="with --offset-schedule survival: the share of the time limit at "
                     "which the whole offset applies (satrlearn.shaping.SURVIVAL_FULL_SHARE; "
                     "runs with another than 1 are labelled -offsurvival<share>)")
    run.add_argument("--budget-power", type=float, default=None,
                     help="with SATR's eta='budget': the power of the schedule of the log-odds "
                     "variance over the budget (SATRSearch(budget_power=...); runs with "
                     "another than 1 are labelled -bp<power>)")
    run.add_argument("--rho-eps", type=_floor, default=None,
                     help="SATR and EC: keep every connection probability in [x, 1 - x] "
                     "(rho_eps; default the estimator's: SATR's 'auto', 0.01 falling to 0.001 "
                     "with eta='steady', EC's 0.001; runs that set it are labelled -eps<x>). "
                     "SATR also takes START,END: a floor that falls geometrically from START "
                     "to END over the budget (labelled -eps<start>to<end>)")
    run.add_argument("--n-episodes", type=int, default=None,
                     help="episodes per candidate (n_episodes; default the estimator's, 1; "
                     "runs with another are labelled -ep<n>)")
    run.add_argument("--eval-every", type=int, default=None,
                     help="generations between evaluations (eval_every; default the "
                     "estimator's, 'auto'; runs whose interval is not 10 are labelled -ev<n>)")
    run.add_argument("--final-shortlist", type=int, default=None,
                     help="networks re-evaluated at the end of the fit to choose best_policy_ "
                     "(satrlearn.search.FINAL_SHORTLIST; 1 turns the final selection off, the "
                     "protocol before 2026-12-05; runs with more than 1 are labelled -sel<n>)")
    run.add_argument("--minutes", type=float, default=MINUTES,
                     help=f"budget in minutes (default {MINUTES:g}; x1.5 on "
                          + ", ".join(LONGER_TASKS) + "); time points at half and all of it")
    run.add_argument("--same-budget", action="store_true",
                     help="give every task the budget --minutes (no longer budget on "
                          + ", ".join(LONGER_TASKS) + ")")
    run.add_argument("--results-dir", default=RESULTS)

    summ = sub.add_parser("summary", help="print the table and write it into the docs page")
    summ.add_argument("--results-dir", default=RESULTS)
    summ.add_argument("--docs", default=DOC, help="the Markdown page to update")

    args = parser.parse_args(argv)
    if args.command == "run":
        if not (math.isfinite(args.minutes) and args.minutes > 0):
            parser.error("--minutes must be a positive number.")
        return cmd_run(args)
    return cmd_summary(args)


if __name__ == "__main__":
    sys.exit(main())
