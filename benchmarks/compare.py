"""SATR, EC, EC+TR and ES on Gymnasium MuJoCo tasks at equal environment-step budgets.

Every cell of the grid (method, task, population, seed) is one search run with the
estimators' documented default hyperparameters, stopped by a callback once the population
has used ``--budget`` environment steps, so that populations and methods are compared at
equal samples. Each run writes one CSV, ``benchmarks/results/claims/<run>.csv``: one row per
generation with the ``history_`` columns plus the run's description; the CSV is rewritten
atomically after every generation, and when the budget is reached its last row gets
``complete = 1``, ``final_eval`` (the mean true return of the final deterministic network over
ten fresh episodes) and ``best_eval`` (the same for ``best_policy_``, the network the fit's
periodic evaluations chose). Runs checkpoint into ``<results>/checkpoints/<run>/`` (not
committed): a complete run is skipped, an unfinished one resumes from its checkpoint with the
same result as an uninterrupted run.

    # the Hopper slice of the claims grid, two runs at a time, each on one core
    python benchmarks/compare.py run --tasks Hopper-v5 --pops 32 128 --seeds 0 1 2 \\
        --methods satr ec es --budget 5000000 --runners 2
    # list the cells and their state without running anything
    python benchmarks/compare.py run ... --dry-run
    # tables and plots from every CSV found: docs/results.md and docs/img/claims/*.png
    python benchmarks/compare.py summary

Methods: ``satr`` (SATRSearch), ``ec`` (ECSearch), ``es`` (ESSearch), ``ectr:DELTA``
(ECSearch with ``trust_region=DELTA``, the fixed-KL ablation) and ``satr:ETA`` (SATR with
another ``eta``, a number or ``budget``). Cells run in the order task, seed, population,
method, so that an interrupted grid leaves whole seeds behind. The first grid (300k steps
per run, ``--results benchmarks/results``) is kept as it was in docs/results-300k.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import io
import math
import os
import platform
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from run_records import code_commit, write_atomic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "claims")
PEERS = os.path.join(ROOT, "benchmarks", "results", "peers")
DOC = os.path.join(ROOT, "docs", "results.md")
IMG = os.path.join(ROOT, "docs", "img", "claims")

EVAL_EPISODES = 10  # runs before 2026-12 used 5 (their CSVs have no best_eval)
EVAL_SEED = 10_000          # episodes of the final evaluation: never seen during the search
CHECKPOINT_EVERY = 5
#: the network's input gain of every cell: the library's default when the grid began (it is
#: 0.3 since 2026-12-04), kept so that the cells still to run match the finished ones
GRID_K_IN = 0.1
META_KEYS = ("task", "method", "delta", "pop", "seed", "budget_steps", "n_params", "commit")
#: columns computed here in CSVs written before satrlearn logged them in ``history_``
LATER_KEYS = ("noise_energy", "signal_to_noise", "signal_path", "eta")
FINAL_KEYS = ("final_eval", "final_saturated", "complete", "best_eval")

READING_START = "<!-- reading:start -->"
READING_END = "<!-- reading:end -->"


# --- the grid -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    task: str
    method: str   # satr | ec | es | ectr:DELTA | satr:ETA | satr:budget
    pop: int
    seed: int
    budget: int   # environment steps of the population

    @property
    def delta(self):
        return float(self.method.split(":", 1)[1]) if self.method.startswith("ectr:") else None

    @property
    def eta(self):
        """SATR's ``eta`` of a ``satr:ETA`` cell: a number, or ``"budget"``."""
        if not self.method.startswith("satr:"):
            return None
        value = self.method.split(":", 1)[1]
        return value if value == "budget" else float(value)

    @property
    def label(self) -> str:
        if self.delta is not None:
            return f"ectr-{self.delta:g}"
        if self.eta is not None:
            return f"satr-eta{self.eta if isinstance(self.eta, str) else format(self.eta, 'g')}"
        return self.method

    @property
    def name(self) -> str:
        return f"{self.task}_{self.label}_pop{self.pop}_seed{self.seed}_{self.budget}steps"

    def csv_path(self, results):
        return os.path.join(results, self.name + ".csv")

    def checkpoint_dir(self, results):
        return os.path.join(results, "checkpoints", self.name)


def parse_method(text: str) -> str:
    text = text.strip().lower()
    if text in ("satr", "ec", "es", "satr:budget"):
        return text
    m = re.fullmatch(r"(ectr|satr):([0-9.eE+-]+)", text)
    if m:
        value = float(m.group(2))
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"{m.group(1)} needs a positive value, got {text!r}.")
        return f"{m.group(1)}:{value:g}"
    raise argparse.ArgumentTypeError(
        f"unknown method {text!r}: use satr, ec, es, ectr:DELTA (e.g. ectr:300), satr:ETA or "
        "satr:budget.")


def make_estimator(cell: Cell, n_jobs: int, checkpoint_dir, callbacks):
    from satrlearn import ECSearch, ESSearch, SATRSearch
    common = dict(pop=cell.pop, total_timesteps=cell.budget, random_state=cell.seed,
                  n_jobs=n_jobs, checkpoint_dir=checkpoint_dir,
                  checkpoint_every=CHECKPOINT_EVERY, callbacks=callbacks,
                  network_params={"k_in": GRID_K_IN})
    if cell.method == "satr":
        return SATRSearch(**common)
    if cell.method == "ec":
        return ECSearch(**common)
    if cell.method == "es":
        return ESSearch(**common)
    if cell.eta is not None:
        return SATRSearch(eta=cell.eta, **common)
    return ECSearch(trust_region=cell.delta, **common)


def build_grid(tasks, methods, pops, seeds, budget):
    return [Cell(t, m, p, s, budget) for t in tasks for s in seeds for p in pops
            for m in methods]


# --- CSV files ------------------------------------------------------------------------------
def columns():
    from satrlearn import HISTORY_KEYS
    return list(META_KEYS) + list(HISTORY_KEYS) + list(FINAL_KEYS)


def write_csv_atomic(path, header, rows):
    """Write ``rows`` to ``path`` through a temp file and a rename: never half a file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_atomic(path, buf.getvalue())


def history_rows(cell: Cell, est, final=None, commit=""):
    """One row per generation; ``final`` (a dict of FINAL_KEYS) goes on the last row."""
    from satrlearn import HISTORY_KEYS
    hist = est.history_
    n = len(hist["generation"])
    meta = [cell.task, cell.label, "" if cell.delta is None else f"{cell.delta:g}", cell.pop,
            cell.seed, cell.budget, est.network_config_.n_params, commit]
    rows = []
    for i in range(n):
        row = meta + [_fmt(hist[k][i]) for k in HISTORY_KEYS]
        if final is not None and i == n - 1:
            row += [_fmt(final["final_eval"]), _fmt(final["final_saturated"]), 1,
                    _fmt(final["best_eval"])]
        else:
            row += ["", "", 0, ""]
        rows.append(row)
    return rows


def _fmt(value):
    if isinstance(value, (int, np.integer)):
        return int(value)
    return repr(float(value))


def read_csv(path):
    """A run's CSV as ``(meta dict, columns dict of numpy arrays)``."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return None
    meta = {k: rows[0][k] for k in META_KEYS}
    meta["pop"], meta["seed"] = int(meta["pop"]), int(meta["seed"])
    meta["budget_steps"], meta["n_params"] = int(meta["budget_steps"]), int(meta["n_params"])
    last = rows[-1]
    meta["complete"] = last.get("complete") == "1"
    meta["final_eval"] = float(last["final_eval"]) if meta["complete"] else math.nan
    best = last.get("best_eval", "")
    meta["best_eval"] = float(best) if meta["complete"] and best not in ("", None) else math.nan
    sat = last.get("final_saturated", "")
    meta["final_saturated"] = float(sat) if sat not in ("", None) else math.nan
    cols = {}
    for key in rows[0]:
        if key in META_KEYS or key in FINAL_KEYS:
            continue
        cols[key] = np.array([float(r[key]) if r[key] not in ("", None) else math.nan
                              for r in rows])
    for key in LATER_KEYS:  # CSVs written before a column existed
        cols.setdefault(key, np.full(len(rows), math.nan))
    missing = ~np.isfinite(cols["signal_to_noise"])
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["signal_to_noise"][missing] = (cols["signal_energy"][missing]
                                            / cols["noise_energy"][missing])
    meta["path"] = path
    return meta, cols


def is_complete(path) -> bool:
    if not os.path.isfile(path):
        return False
    with open(path, newline="") as fh:
        last = None
        for last in csv.DictReader(fh):
            pass
    return last is not None and last.get("complete") == "1"


# --- running one cell -----------------------------------------------------------------------
def run_cell(cell: Cell, results: str, n_jobs: int = 1) -> str:
    """Run (or resume) one cell to its budget and write its CSV; returns what happened."""
    from satrlearn import evaluate_policy, load_checkpoint
    from satrlearn.checkpoint import CHECKPOINT_NAME

    path = cell.csv_path(results)
    if is_complete(path):
        return "skipped (complete)"
    ckpt = cell.checkpoint_dir(results)
    header = columns()
    commit = code_commit()

    def on_generation(est, record):
        write_csv_atomic(path, header, history_rows(cell, est, commit=commit))
        # the fit stops at total_timesteps=cell.budget; checkpoints written before this
        # script used the budget parameters planned a generation count, hence the callback
        return est.env_steps_ < cell.budget

    t0 = time.perf_counter()
    if os.path.isfile(os.path.join(ckpt, CHECKPOINT_NAME)):
        est = load_checkpoint(ckpt, n_jobs=n_jobs, callbacks=[on_generation], verbose=0)
        done = est.n_generations_
        # a checkpoint written at the generation that spent the budget needs no more work
        if est.env_steps_ < cell.budget:
            est.resume(cell.task)
        how = f"resumed from generation {done}"
    else:
        est = make_estimator(cell, n_jobs, ckpt, [on_generation])
        est.fit(cell.task)
        how = "fresh"
    if est.interrupted_ or est.env_steps_ < cell.budget:
        raise RuntimeError(f"{cell.name} stopped at {est.env_steps_} env steps, before its "
                           f"budget of {cell.budget}.")
    final_eval = est.score(cell.task, n_episodes=EVAL_EPISODES, seed=EVAL_SEED)
    best_eval = evaluate_policy(est.best_policy_, cell.task, n_episodes=EVAL_EPISODES,
                                seed=EVAL_SEED)[0]
    dist = est.distribution_
    if "rho" in dist:
        rho = dist["rho"]
        saturated = float(np.mean((rho < 0.01) | (rho > 0.99)))
    else:
        saturated = math.nan
    write_csv_atomic(path, header, history_rows(
        cell, est, final={"final_eval": final_eval, "final_saturated": saturated,
                          "best_eval": best_eval},
        commit=commit))
    return (f"{how}; {est.n_generations_} generations, {est.env_steps_} env steps, "
            f"final eval {final_eval:.1f}, best eval {best_eval:.1f}, "
            f"{time.perf_counter() - t0:.0f} s")


# --- the grid runner ------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _take_lock(lock_path) -> bool:
    """Claim a cell for this runner (an O_EXCL file holding our pid); clear stale claims."""
    os.makedirs(os.path.dirname(lock_path), exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(lock_path) as fh:
                    pid = int(fh.read().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _pid_alive(pid):
                return False
            try:
                os.unlink(lock_path)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        return True
    return False


def _launch(cell: Cell, results: str, n_jobs: int):
    """Run one cell in its own process (fresh interpreter, its own log); returns a message."""
    ckpt = cell.checkpoint_dir(results)
    lock = os.path.join(ckpt, ".lock")
    if not _take_lock(lock):
        return cell, "skipped (another runner has it)"
    log_path = os.path.join(ckpt, "log.txt")
    cmd = [sys.executable, os.path.abspath(__file__), "cell", "--task", cell.task,
           "--method", cell.method, "--pop", str(cell.pop), "--seed", str(cell.seed),
           "--budget", str(cell.budget), "--n-jobs", str(n_jobs), "--results", results]
    try:
        with open(log_path, "a") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n")
            log.flush()
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT,
                                  env=dict(os.environ, OMP_NUM_THREADS="1",
                                           OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1"))
        with open(log_path) as log:
            tail = log.read().strip().splitlines()[-1:] or [""]
        status = tail[0] if proc.returncode == 0 else \
            f"FAILED (exit {proc.returncode}, see {os.path.relpath(log_path, ROOT)})"
        return cell, status
    finally:
        try:
            os.unlink(lock)
        except FileNotFoundError:
            pass


def cmd_run(args):
    grid = build_grid(args.tasks, args.methods, args.pops, args.seeds, args.budget)
    todo = [c for c in grid if not is_complete(c.csv_path(args.results))]
    print(f"{len(grid)} cells, {len(grid) - len(todo)} complete, {len(todo)} to run "
          f"(budget {args.budget} env steps each, {args.runners} at a time, n_jobs "
          f"{args.n_jobs} each)", flush=True)
    if args.dry_run:
        for c in grid:
            path = c.csv_path(args.results)
            state = "complete" if is_complete(path) else \
                "partial" if os.path.isfile(path) else "not started"
            print(f"  {c.name:<55} {state}")
        return 0
    failures = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.runners) as pool:
        futures = [pool.submit(_launch, c, args.results, args.n_jobs) for c in todo]
        for fut in concurrent.futures.as_completed(futures):
            cell, status = fut.result()
            failures += status.startswith("FAILED")
            print(f"{time.strftime('%H:%M:%S')} {cell.name}: {status}", flush=True)
    return 1 if failures else 0


def cmd_cell(args):
    cell = Cell(args.task, args.method, args.pop, args.seed, args.budget)
    print(run_cell(cell, args.results, args.n_jobs), flush=True)
    return 0


# --- summary --------------------------------------------------------------------------------
METHOD_ORDER = ("satr", "ec", "es")
COLORS = {"satr": "tab:red", "ec": "tab:blue", "es": "tab:green"}
ECTR_COLORS = ("tab:purple", "tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
NAMES = {"satr": "SATR", "ec": "EC", "es": "ES"}


def display(method: str) -> str:
    if method.startswith("ectr-"):
        return f"EC+TR δ={method[5:]}"
    if method.startswith("satr-eta"):
        return f"SATR η={method[8:]}"
    return NAMES.get(method, method)


def method_key(method: str):
    if method in METHOD_ORDER:
        return (METHOD_ORDER.index(method), 0.0)
    if method.startswith("satr-eta"):
        eta = method[8:]
        return (0, math.inf if eta == "budget" else float(eta))
    return (len(METHOD_ORDER), float(method[5:]))


def load_runs(results):
    runs = []
    for name in sorted(os.listdir(results)):
        if name.endswith(".csv") and name != BEHAVIOUR_CSV:
            loaded = read_csv(os.path.join(results, name))
            if loaded is not None:
                runs.append(loaded)
    return runs


def _steps(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 and n % 100_000 == 0 else f"{n / 1e3:g}k"


def _ms(values, digits=0):
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _noise_energy(n_params: int, pop: int) -> float:
    """||g||^2 of a ranking that carries no signal: D / (48 N) at rho = 0.5."""
    return n_params / (48.0 * pop)


def slice_name(task: str, budget: int) -> str:
    """How the page names a task's runs: the task alone at the grid's budget, else with it."""
    return task if budget == GRID_BUDGET else f"{task}, {_steps(budget)} steps"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", name)


def summarize(runs, expected):
    """Group complete runs by (task slice, pop, method, budget); collect partial and missing
    cells. Runs of a task at another budget than the grid's form their own slice."""
    groups = defaultdict(list)
    partial = []
    for meta, cols in runs:
        if meta["complete"]:
            groups[(slice_name(meta["task"], meta["budget_steps"]), meta["pop"],
                    meta["method"], meta["budget_steps"])].append((meta, cols))
        else:
            partial.append(meta)
    have = {(m["task"], m["method"], m["pop"], m["seed"], m["budget_steps"])
            for m, _ in runs if m["complete"]}
    missing = [c for c in expected
               if (c.task, c.label, c.pop, c.seed, c.budget) not in have]
    return groups, partial, missing


def _fifths(per_run) -> str:
    """Mean of each run's values over each fifth of its generations, runs pooled, and the
    largest standard error of the five: ``"+0.001, ... (± 0.002)"``."""
    pooled = [[] for _ in range(5)]
    for values in per_run:
        for k, part in enumerate(np.array_split(np.asarray(values, float), 5)):
            pooled[k].extend(part[np.isfinite(part)])
    if min(len(p) for p in pooled) < 2:
        return "n/a"
    means = [np.mean(p) for p in pooled]
    se = max(np.std(p, ddof=1) / math.sqrt(len(p)) for p in pooled)
    return ", ".join(f"{m:+.4f}" for m in means) + f" (± {se:.4f})"


def _path_summary(per_run, memory=20) -> str:
    """Mean ± standard error of the signal-path estimates (``signal_path``) of runs: one value
    every ``memory`` generations from generation ``memory`` on (the path's memory, so that
    the values taken are nearly independent), runs pooled; "n/a" for runs without them."""
    picked = []
    for values in per_run:
        part = np.asarray(values, float)[memory - 1::memory]
        picked.extend(part[np.isfinite(part)])
    if len(picked) < 2:
        return "n/a"
    se = np.std(picked, ddof=1) / math.sqrt(len(picked))
    return f"{np.mean(picked):+.5f} ± {se:.5f} ({len(picked)})"


def _table_head(head):
    """The two first lines of a Markdown table with columns ``head``."""
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]


def _task_cells(keys, task):
    """The cell keys ``(task, pop, method, budget)`` of ``task``, by population, then method."""
    return sorted((k for k in keys if k[0] == task), key=lambda k: (k[1], method_key(k[2])))


def _group_stats(members):
    """Per-seed arrays of a cell; ``score`` is the page's return (``meta["score"]``, set by
    :func:`cmd_summary` from the plan; the final mode's ``final_eval`` otherwise)."""
    score = np.array([m.get("score", m["final_eval"]) for m, _ in members])
    last_det = np.array([c["return_det"][-1] for _, c in members])
    gens = np.array([len(c["generation"]) for _, c in members])
    steps = np.array([c["env_steps"][-1] for _, c in members])
    wall = np.array([c["wall_time"][-1] for _, c in members])
    return dict(score=score, last_det=last_det, gens=gens, steps=steps, wall=wall,
                seeds=sorted(m["seed"] for m, _ in members))


def make_plots(groups, img_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(img_dir, exist_ok=True)
    written = {}
    tasks = sorted({k[0] for k in groups})
    for task in tasks:
        keys = [k for k in groups if k[0] == task]
        pops = sorted({k[1] for k in keys})
        ectr = sorted({k[2] for k in keys if k[2].startswith("ectr-")}, key=method_key)
        etas = sorted({k[2] for k in keys if k[2].startswith("satr-eta")}, key=method_key)
        colors = dict(COLORS, **{m: ECTR_COLORS[i % len(ECTR_COLORS)] for i, m in
                                 enumerate(ectr)})
        colors.update({m: c for m, c in zip(etas, ("darkred", "salmon", "gold", "black"))})
        files = {}
        for xkey, xlabel, fname in (("generation", "generation", "return_generation"),
                                    ("env_steps", "environment steps", "return_steps"),
                                    ("wall_time", "wall-clock seconds (one core per run)",
                                     "return_wallclock")):
            fig, axes = plt.subplots(1, len(pops), figsize=(5.2 * len(pops), 3.8),
                                     squeeze=False)
            for ax, pop in zip(axes[0], pops):
                for key in sorted((k for k in keys if k[1] == pop), key=lambda k:
                                  method_key(k[2])):
                    method = key[2]
                    style = "--" if method.startswith("ectr-") else \
                        ":" if method.startswith("satr-eta") else "-"
                    for i, (meta, cols) in enumerate(groups[key]):
                        ax.plot(cols[xkey], cols["return_det"], style, color=colors[method],
                                lw=1.1, alpha=0.8,
                                label=display(method) if i == 0 else None)
                budget = keys[0][3]
                ax.set_title(f"{task}, population {pop} ({_steps(budget)} steps per run)",
                             fontsize=9)
                ax.set_xlabel(xlabel)
                ax.set_ylabel("deterministic network return")
                ax.grid(alpha=0.3)
            axes[0][0].legend(fontsize=7)
            fig.tight_layout()
            out = os.path.join(img_dir, f"{_slug(task)}_{fname}.png")
            fig.savefig(out, dpi=90)
            plt.close(fig)
            files[fname] = out

        # diagnostics of the Bernoulli searches: KL, signal energy (absolute and over the
        # noise level of the distribution sampled from), entropy per generation
        bern = ["satr", "ec"] + ectr + etas
        fig, axes = plt.subplots(4, len(pops), figsize=(5.2 * len(pops), 12.0), squeeze=False)
        for j, pop in enumerate(pops):
            for key in sorted((k for k in keys if k[1] == pop and k[2] in bern),
                              key=lambda k: method_key(k[2])):
                method = key[2]
                style = "--" if method.startswith("ectr-") else \
                    ":" if method.startswith("satr-eta") else "-"
                for i, (meta, cols) in enumerate(groups[key]):
                    lab = display(method) if i == 0 else None
                    ratio = cols["signal_to_noise"]
                    for row, ys in enumerate((cols["kl"], cols["signal_energy"], ratio,
                                              cols["entropy"])):
                        axes[row][j].plot(cols["generation"], ys, style, color=colors[method],
                                          lw=1.0, alpha=0.8, label=lab)
            same_pop = [k for k in keys if k[1] == pop]
            if same_pop:
                n_params = groups[same_pop[0]][0][0]["n_params"]
                axes[1][j].axhline(_noise_energy(n_params, pop), color="k", ls=":", lw=1,
                                   label="noise level D/(48N)")
            axes[0][j].set_title(f"{task}, population {pop}", fontsize=9)
            axes[0][j].set_ylabel("KL between successive distributions (nats)")
            axes[1][j].set_ylabel("signal energy ||g||²")
            axes[2][j].axhline(1.0, color="k", ls=":", lw=1)
            axes[2][j].set_ylabel("||g||² ÷ its no-information value")
            axes[3][j].set_ylabel("mean entropy per connection (nats)")
            for row in range(4):
                axes[row][j].set_xlabel("generation")
                axes[row][j].grid(alpha=0.3)
            axes[0][j].set_yscale("log")
            axes[1][j].set_yscale("log")
        axes[0][0].legend(fontsize=7)
        axes[1][0].legend(fontsize=7)
        fig.tight_layout()
        out = os.path.join(img_dir, f"{_slug(task)}_diagnostics.png")
        fig.savefig(out, dpi=90)
        plt.close(fig)
        files["diagnostics"] = out

        if ectr:
            fig, ax = plt.subplots(figsize=(5.2, 3.8))
            for pop, color in zip(pops, ("tab:blue", "tab:red", "tab:green", "tab:purple")):
                xs, ms, ss = [], [], []
                for m in ectr:
                    key = next((k for k in keys if k[1] == pop and k[2] == m), None)
                    if key is None:
                        continue
                    final = _group_stats(groups[key])["score"]
                    xs.append(float(m[5:]))
                    ms.append(final.mean())
                    ss.append(final.std(ddof=1) if len(final) > 1 else 0.0)
                if xs:
                    ax.errorbar(xs, ms, yerr=ss, marker="o", capsize=3, color=color,
                                label=f"EC+TR, population {pop}")
                for m, ls in (("satr", "-"), ("ec", ":")):
                    key = next((k for k in keys if k[1] == pop and k[2] == m), None)
                    if key is not None:
                        ax.axhline(_group_stats(groups[key])["score"].mean(), color=color,
                                   ls=ls, lw=1, label=f"{NAMES[m]}, population {pop}")
            ax.set_xscale("log")
            ax.set_xlabel("KL budget δ per generation (nats)")
            ax.set_ylabel(f"return ({EVAL_EPISODES} episodes), mean ± std over seeds")
            ax.set_title(f"{task}: EC+TR budget sweep", fontsize=9)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
            fig.tight_layout()
            out = os.path.join(img_dir, f"{_slug(task)}_ectr_sweep.png")
            fig.savefig(out, dpi=90)
            plt.close(fig)
            files["ectr_sweep"] = out
        written[task] = files
    return written


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _same_library(commits) -> str:
    """Whether ``satrlearn/`` is the same at all these commits (other files may differ)."""
    clean = sorted(c for c in commits if re.fullmatch(r"[0-9a-f]{7,40}", c))
    try:
        differs = [c for c in clean[1:] if subprocess.run(
            ["git", "-C", ROOT, "diff", "--quiet", clean[0], c, "--", "satrlearn"],
            capture_output=True).returncode]
    except OSError:
        return ""
    if len(clean) < len(commits):
        return "Some runs started from uncommitted code."
    return ("The library (`satrlearn/`) is identical at all of them; only other files "
            "changed." if not differs else "The library differs between some of them.")


def _versions():
    out = {}
    for mod in ("satrlearn", "gymnasium", "mujoco", "numpy", "numba"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # a missing module only leaves a gap in the page
            out[mod] = "?"
    return out


def render(groups, partial, missing, plots, reading, args, behaviour_rows=()):
    from satrlearn import ECSearch, ESSearch, SATRSearch
    lines = []
    add = lines.append
    tasks = sorted({k[0] for k in groups}, key=lambda t: (
        args.tasks.index(t) if t in args.tasks else len(args.tasks), t))
    budgets = sorted({k[3] for k in groups})
    add("# Results: SATR, EC, EC+TR and ES at real budgets on a CPU")
    add("")
    add("*Generated by `python benchmarks/compare.py summary` from the CSVs in "
        f"`{os.path.relpath(args.results, ROOT)}/`; the section \"Reading\" is written by "
        "hand and kept when the page is regenerated. The first grid, at 300k steps per run, "
        "is kept as it was in the appendix [Results at 300k steps](results-300k.md).*")
    add("")
    add("## Setup")
    add("")
    vers = _versions()
    add(f"- Machine: {os.cpu_count()}-core CPU machines, no GPU, shared with other work; "
        "two runs at a time, each on one core (`n_jobs=1`). The CSVs do not record the "
        "CPU a run had (the reading names it where it is known); this page was generated on "
        f"{platform.machine()}, {_cpu_name()}. Wall-clock times are therefore noisy; the "
        "comparison is at equal environment steps.")
    add("- Software where this page was generated: " +
        ", ".join(f"{k} {v}" for k, v in vers.items()) +
        f", Python {platform.python_version()}.")
    commits = defaultdict(int)
    for members in groups.values():
        for meta, _ in members:
            commits[meta.get("commit") or "unknown"] += 1
    add("- Code: repository commit each run started from: " + ", ".join(
        f"`{c}` ({n})" for c, n in sorted(commits.items())) + ". " + _same_library(commits))
    add("- Tasks: Gymnasium MuJoCo v5 with their own time limits (1,000 steps); fitness = "
        "return of one episode per candidate, less `reward_offset` per step (`\"auto\"`: "
        "the survival bonus, so that standing still earns nothing); every return on this "
        "page is the env's own (true) return.")
    add("- Budget: each run stops after the first generation at which the population has "
        "used its budget of environment steps (" + ", ".join(_steps(b) for b in budgets)
        + "; the deterministic network's monitoring and evaluation episodes are not "
        "counted); every method and population gets the same budget on a task, so they are "
        "compared at equal samples. Small populations get more generations.")
    sp = SATRSearch().get_params()
    ep = ECSearch().get_params()
    es = ESSearch().get_params()
    eta = sp["eta"] if isinstance(sp["eta"], str) else format(sp["eta"], "g")
    add(f"- Hyperparameters: the documented defaults, no tuning per cell: {sp['n_hidden']} "
        f"neurons; SATR `eta={eta}`; EC Adam `learning_rate={ep['learning_rate']:g}`; "
        "EC+TR the same Adam step rescaled to the KL budget δ (`trust_region`); ES "
        f"`sigma={es['sigma']:g}`, `learning_rate={es['learning_rate']:g}`, "
        f"`weight_decay={es['weight_decay']:g}`; `rho_eps={sp['rho_eps']:g}`, "
        f"`n_episodes=1`, `eval_every={sp['eval_every']}` generations on "
        f"{sp['eval_episodes']} episodes; the network's input gain `k_in={GRID_K_IN:g}` (the "
        "library's default until 2026-12-04, 0.3 since). The only swept value is EC+TR's δ.")
    add(f"- Return: `best_policy_` (the network the fit's periodic evaluations chose; runs "
        f"without it: the final deterministic network) over {EVAL_EPISODES} fresh episodes "
        f"(seeds {EVAL_SEED}+), mean over the episodes; the tables give mean ± sample std over "
        "training seeds. \"last det\" is the one-episode return of the deterministic network "
        "logged at the last generation.")
    add("")
    add("## Return at the budget")
    add("")
    add("True return of each run's best policy, mean ± std over seeds (number of seeds), with "
        "the budget of every run. `–`: not run.")
    add("")
    head = ["task", "pop", "budget per run", "SATR", "EC", "ES", "best EC+TR (δ)"]
    lines.extend(_table_head(head))
    verdicts = []
    for task in tasks:
        pops = sorted({k[1] for k in groups if k[0] == task})
        for pop in pops:
            keys = {k[2]: k for k in groups if k[0] == task and k[1] == pop}
            budget = sorted({k[3] for k in keys.values()})
            row = [task, str(pop), " / ".join(_steps(b) for b in budget)]
            means = {}
            for m in METHOD_ORDER:
                if m in keys:
                    st = _group_stats(groups[keys[m]])
                    means[m] = st["score"]
                    row.append(f"{_ms(st['score'])} ({len(st['score'])})")
                else:
                    row.append("–")
            ectr = [m for m in keys if m.startswith("ectr-")]
            if ectr:
                best = max(ectr, key=lambda m: _group_stats(groups[keys[m]])["score"].mean())
                st = _group_stats(groups[keys[best]])
                row.append(f"{_ms(st['score'])} ({len(st['score'])}), δ={best[5:]}")
            else:
                row.append("–")
            add("| " + " | ".join(row) + " |")
            if all(m in means for m in METHOD_ORDER):
                verdicts.append((task, pop, budget, means))
    add("")
    if verdicts:
        add("### Does SATR > EC > ES hold?")
        add("")
        add("Order of the seed means; \"clear\" when the gap is larger than the larger of the "
            "two standard deviations (3 seeds cannot say more), \"tie\" when the means are "
            "less than 1 apart.")
        add("")
        for task, pop, budget, means in verdicts:
            mean = {m: v.mean() for m, v in means.items()}
            sd = {m: (v.std(ddof=1) if len(v) > 1 else math.nan) for m, v in means.items()}
            order = sorted(mean, key=lambda m: -mean[m])
            text = " > ".join(f"{NAMES[m]} {mean[m]:.0f}" for m in order)
            tie = 1.0  # return units: closer means are a tie, whatever the spread

            def gap(a, b):
                d = mean[a] - mean[b]
                if abs(d) < tie:
                    return "tie"
                if d < 0:
                    return f"{NAMES[b]} ahead"
                if not (math.isfinite(sd[a]) or math.isfinite(sd[b])):
                    return "one seed"
                s = np.nanmax([sd[a], sd[b]])
                return "clear" if d > s else "within noise"
            se, ee = gap("satr", "ec"), gap("ec", "es")
            if "tie" in (se, ee) and order == ["satr", "ec", "es"]:
                verdict = "holds only nominally (tied means)"
            elif order == ["satr", "ec", "es"]:
                verdict = "holds"
            else:
                verdict = "does not hold"
            detail = f"SATR vs EC: {se}; EC vs ES: {ee}"
            steps = "" if task.endswith(" steps") else \
                f", {'/'.join(_steps(b) for b in budget)} steps"
            add(f"- {task}, population {pop}{steps}: {text}. SATR > EC > ES {verdict} "
                f"({detail}).")
        add("")

    # claim 2: does a Bernoulli search commit (collapse) long before its budget ends?
    bern = [k for k in groups if k[2] != "es"]
    if bern:
        add("### Do the Bernoulli searches collapse?")
        add("")
        add("A distribution that commits early stops exploring: where the run lands is then "
            "decided by its first generations. Per cell: the mean entropy per connection at "
            "the end (ln 2 = 0.693 at the start), and for each seed the share of the budget "
            "(env steps) after which the entropy stayed below 0.1 nats (\"never\": it did "
            "not), with the return for reference.")
        add("")
        head = ["task", "pop", "method", "generations", "entropy at the end",
                "below 0.1 nats after (per seed)", "return"]
        lines.extend(_table_head(head))
        for task in tasks:
            for key in _task_cells(bern, task):
                members = groups[key]
                st = _group_stats(members)
                shares = []
                for _, c in sorted(members, key=lambda mc: mc[0]["seed"]):
                    above = np.flatnonzero(c["entropy"] > 0.1)
                    if len(above) == len(c["entropy"]):
                        shares.append("never")
                        continue
                    last_above = above[-1] if len(above) else -1
                    steps = c["env_steps"][last_above] if last_above >= 0 else 0.0
                    shares.append(f"{100 * steps / c['env_steps'][-1]:.0f} %")
                add("| " + " | ".join([
                    task, str(key[1]), display(key[2]), f"{st['gens'].mean():.0f}",
                    f"{np.mean([c['entropy'][-1] for _, c in members]):.3f}",
                    ", ".join(shares), f"{_ms(st['score'])} ({len(st['score'])})"]) + " |")
        add("")

    # claim 4: does SATR's step follow the signal, and is there a signal to follow?
    if bern:
        from scipy.stats import spearmanr
        add("### Does the step follow the signal?")
        add("")
        add("SATR's KL per generation is proportional to `||g||²`, so it can only be "
            "signal-adaptive if `||g||²` measures signal. Per cell, pooled over the seeds' "
            "generations: the rank correlation between the realised KL and `||g||²`; "
            "`||g||²` over its no-information value (1 = what a ranking with no information "
            "gives); and the split-half estimate (`signal_split`, the inner product of the "
            "estimates from two halves of the population, unbiased for the squared norm of "
            "the expected `g`) over the same noise value, mean ± standard error over "
            "generations: a value indistinguishable from 0 means the noise dominates every "
            "generation's `g`. The last column averages the split-half estimate over each "
            "fifth of the runs' generations (seeds pooled), with the largest standard error "
            "of the five: a signal that only shows over tens of generations, or only early, "
            "would show there. The signal path (`signal_path`, runs since 2026-12-03) pools "
            "the signals of about 20 generations into the same kind of estimate, with a "
            "standard error about 50 times smaller than one generation's split-half: one "
            "value every 20 generations from the 20th on, seeds pooled, mean ± standard "
            "error (values).")
        add("")
        head = ["task", "pop", "method", "corr(KL, ||g||²)", "||g||² ÷ noise (median)",
                "split-half ÷ noise, mean ± s.e.", "split-half ÷ noise by fifths (± s.e.)",
                "signal path ÷ noise"]
        lines.extend(_table_head(head))
        for task in tasks:
            for key in _task_cells(bern, task):
                members = groups[key]
                kl = np.concatenate([c["kl"] for _, c in members])
                ge = np.concatenate([c["signal_energy"] for _, c in members])
                ratio = np.concatenate([c["signal_to_noise"] for _, c in members])
                per_run = [c.get("signal_split", np.full(len(c["kl"]), np.nan))
                           / c["noise_energy"] for _, c in members]
                split = np.concatenate(per_run)
                fifths_txt = _fifths(per_run)
                ok = np.isfinite(kl) & np.isfinite(ge)
                corr = spearmanr(kl[ok], ge[ok])[0] if ok.sum() > 2 else math.nan
                split = split[np.isfinite(split)]
                se = split.std(ddof=1) / math.sqrt(len(split)) if len(split) > 1 else math.nan
                split_txt = f"{split.mean():+.4f} ± {se:.4f}" if len(split) > 1 else "n/a"
                add("| " + " | ".join([
                    task, str(key[1]), display(key[2]),
                    f"{corr:.2f}" if math.isfinite(corr) else "n/a",
                    f"{np.nanmedian(ratio):.3f}" if np.isfinite(ratio).any() else "n/a",
                    split_txt, fifths_txt,
                    _path_summary([c["signal_path"] for _, c in members])]) + " |")
        add("")

    # what the final policies do
    if behaviour_rows:
        add("### What the final policies do")
        add("")
        add("The final deterministic network of each run, two episodes (`compare.py inspect`), "
            "means over episodes and then seeds: episode length, forward displacement of the "
            "body (m) and the return split into the forward-progress reward and the survival "
            "bonus (1 per step alive on Hopper and Walker2d, 5 on Humanoid, none on "
            "HalfCheetah). A return near the episode length times the bonus with no "
            "displacement is a policy that stands still until the time limit.")
        add("")
        head = ["task", "pop", "method", "runs", "length", "displacement", "forward reward",
                "survival bonus"]
        lines.extend(_table_head(head))
        by = defaultdict(list)
        for r in behaviour_rows:
            by[(r["task"], int(r["pop"]), r["method"])].append(r)
        for task in tasks:
            for key in sorted((k for k in by if k[0] == task),
                              key=lambda k: (k[1], method_key(k[2]))):
                rs = by[key]

                def mean(col):
                    return np.mean([float(r[col]) for r in rs])
                add("| " + " | ".join([
                    task, str(key[1]), display(key[2]), str(len(rs)),
                    f"{mean('length'):.0f}", f"{mean('dx'):+.2f}",
                    f"{mean('reward_forward'):.0f}", f"{mean('reward_survive'):.0f}"]) + " |")
        add("")

    # EC+TR sweep
    sweep_tasks = [t for t in tasks if any(k[0] == t and k[2].startswith("ectr-")
                                           for k in groups)]
    if sweep_tasks:
        add("## EC+TR: KL budget sweep")
        add("")
        add("Return per fixed KL budget δ (nats per generation), mean ± std (seeds); "
            "the best δ of each row in bold, SATR and EC of the same cell for reference.")
        add("")
        for task in sweep_tasks:
            deltas = sorted({k[2] for k in groups if k[0] == task and k[2].startswith("ectr-")},
                            key=method_key)
            head = ["pop", "budget"] + [f"δ={d[5:]}" for d in deltas] + ["SATR", "EC"]
            add(f"**{task}**")
            add("")
            lines.extend(_table_head(head))
            edges = []
            for pop in sorted({k[1] for k in groups if k[0] == task}):
                keys = {k[2]: k for k in groups if k[0] == task and k[1] == pop}
                cells = {d: _group_stats(groups[keys[d]]) for d in deltas if d in keys}
                best = max(cells, key=lambda d: cells[d]["score"].mean()) if cells else None
                if best is not None and len(cells) > 1 and best in (min(cells, key=method_key),
                                                                    max(cells, key=method_key)):
                    edges.append(f"population {pop}: δ={best[5:]}")
                budget = sorted({k[3] for k in keys.values()})
                row = [str(pop), " / ".join(_steps(b) for b in budget)]
                for d in deltas:
                    if d not in cells:
                        row.append("–")
                        continue
                    txt = f"{_ms(cells[d]['score'])} ({len(cells[d]['score'])})"
                    row.append(f"**{txt}**" if d == best else txt)
                for m in ("satr", "ec"):
                    row.append(_ms(_group_stats(groups[keys[m]])["score"]) if m in keys
                               else "–")
                add("| " + " | ".join(row) + " |")
            add("")
            if edges:
                add("Best δ at the edge of the sweep (the optimum may lie outside it): "
                    + "; ".join(edges) + ".")
                add("")

    # extra SATR runs with another eta: a check on the step size, not part of the comparison
    eta_tasks = [t for t in tasks if any(k[0] == t and k[2].startswith("satr-eta")
                                         for k in groups)]
    if eta_tasks:
        default_eta = SATRSearch().get_params()["eta"]
        default_eta = default_eta if isinstance(default_eta, str) else format(default_eta, "g")
        add("## SATR step size check")
        add("")
        add(f"Extra SATR runs with a step size other than the default η={default_eta}, made "
            "after the grid to find out why SATR behaves as it does. They are a diagnostic, "
            "not part of the comparison: the other methods got no such sweep beyond EC+TR's δ.")
        add("")
        for task in eta_tasks:
            etas = sorted({k[2] for k in groups if k[0] == task and
                           k[2].startswith("satr-eta")}, key=method_key)
            head = ["pop", "budget"] + [f"η={e[8:]}" for e in etas] + \
                [f"η={default_eta} (default)", "EC"]
            add(f"**{task}**")
            add("")
            lines.extend(_table_head(head))
            for pop in sorted({k[1] for k in groups if k[0] == task}):
                keys = {k[2]: k for k in groups if k[0] == task and k[1] == pop}
                budget = sorted({k[3] for k in keys.values()})
                row = [str(pop), " / ".join(_steps(b) for b in budget)]
                for m in etas + ["satr", "ec"]:
                    if m in keys:
                        st = _group_stats(groups[keys[m]])
                        row.append(f"{_ms(st['score'])} ({len(st['score'])})")
                    else:
                        row.append("–")
                add("| " + " | ".join(row) + " |")
            add("")

    # diagnostics
    add("## Search diagnostics")
    add("")
    add("Per cell, medians over generations then means over seeds: exact KL between "
        "successive distributions, signal energy `||g||²` and its ratio to the value a "
        "ranking with no information about the candidates would give, "
        "`(N + 1) / (12 N (N - 1)) * sum_i rho_i (1 - rho_i)` for the distribution the "
        "generation sampled from (`D / (48 N)` at rho = 0.5; logged as `noise_energy`; "
        "`n/a` for the first Hopper runs, made before the column existed); the entropy per "
        "connection at the end (ln 2 = 0.693 at the start) and the "
        "share of connections with rho below 0.01 or above 0.99 at the end (Bernoulli "
        "searches only). Also the environment steps actually used (a run stops after the "
        "generation that reaches its budget, so it overshoots by up to one generation: "
        "up to 128k steps on HalfCheetah at population 128), generations run, last "
        "one-episode return and wall-clock time.")
    add("")
    head = ["task", "pop", "method", "budget", "steps used", "generations", "KL gen 1",
            "median KL",
            "median ||g||²",
            "÷ noise", "final entropy", "saturated", "last det", "minutes"]
    lines.extend(_table_head(head))
    for task in tasks:
        for key in _task_cells(groups, task):
            members = groups[key]
            st = _group_stats(members)
            kl = np.mean([np.median(c["kl"]) for _, c in members])
            ge = np.mean([np.median(c["signal_energy"]) for _, c in members])
            ent = np.mean([c["entropy"][-1] for _, c in members])
            sat = np.nanmean([m["final_saturated"] for m, _ in members]) \
                if key[2] != "es" else math.nan
            ratios = [np.nanmedian(c["signal_to_noise"]) for _, c in members
                      if np.isfinite(c["noise_energy"]).any()]
            ratio = f"{np.mean(ratios):.2f}" if ratios else "n/a"
            kl1 = np.mean([c["kl"][0] for _, c in members])
            bern = key[2] != "es"
            add("| " + " | ".join([
                task, str(key[1]), display(key[2]), _steps(key[3]),
                _steps(int(round(st["steps"].mean(), -3))), f"{st['gens'].mean():.0f}",
                f"{kl1:.3g}" if bern else f"({kl1:.3g})",
                f"{kl:.3g}" if bern else f"({kl:.3g})",
                f"{ge:.3g}", ratio if bern else "–",
                f"{ent:.3f}" if bern else "–",
                f"{100 * sat:.0f}%" if bern and math.isfinite(sat) else "–",
                _ms(st["last_det"]), f"{st['wall'].mean() / 60:.1f}"]) + " |")
    add("")
    add("For ES the KL column is that of the Gaussian mean's move in units of sigma "
        "(`||d mu||² / (2 sigma²)`), not comparable with the Bernoulli ones.")
    add("")

    add("## Plots")
    add("")
    add("Thin lines are seeds. Returns are the deterministic network's one-episode return "
        "logged after every generation.")
    add("")
    for task in tasks:
        files = plots.get(task, {})
        add(f"### {task}")
        add("")
        for fname, caption in (("return_generation", "return vs generation"),
                               ("return_steps", "return vs environment steps"),
                               ("return_wallclock", "return vs wall-clock time"),
                               ("diagnostics", "KL, signal energy and entropy per generation "
                                               "(SATR, EC, EC+TR)"),
                               ("ectr_sweep", "EC+TR return vs KL budget")):
            if fname in files:
                rel = os.path.relpath(files[fname], os.path.dirname(DOC))
                add(f"![{task}: {caption}]({rel})")
                add("")

    add("## Reading")
    add("")
    add(READING_START)
    add(reading.strip() if reading else "*(not written yet)*")
    add(READING_END)
    add("")
    lines += peer_section(PEERS)
    add("## Missing cells")
    add("")
    if missing:
        add(f"Cells of the planned grid without a complete run ({len(missing)}):")
        add("")
        by = defaultdict(list)
        for c in missing:
            by[(c.task, c.label, c.pop)].append(c.seed)
        for (task, label, pop), seeds in sorted(by.items(), key=lambda kv: (
                kv[0][0], kv[0][2], method_key(kv[0][1]))):
            add(f"- {task}, {display(label)}, population {pop}: seeds "
                + ", ".join(map(str, sorted(seeds))))
        add("")
    else:
        add("None: every cell of the planned grid finished.")
        add("")
    if partial:
        add("Runs started but not finished (their CSV holds the generations done so far; "
            "not in the tables): " + ", ".join(
                f"`{os.path.basename(m['path'])}`" for m in partial) + ".")
        add("")
    add("## Reproduce or continue")
    add("")
    add("Finished cells are skipped and unfinished ones resume from their checkpoints, so "
        "the same commands continue the grid:")
    add("")
    add("```")
    for line in args.commands:
        add(line)
    add("python benchmarks/compare.py inspect   # behaviour of the finished runs' policies")
    add("python benchmarks/compare.py summary")
    add("```")
    add("")
    return "\n".join(lines)


def peer_section(peer_results, min_budget=600.0):
    """A short section on SATR against its gradient-based peers (benchmarks/peer_compare.py),
    linking the full page docs/peers.md; empty when no real peer run has finished."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import peer_compare as pc

    runs = {k: r for k, r in pc.load_runs(peer_results).items()
            if r["meta"]["budget_seconds"] >= min_budget}
    rows = list(pc.per_method(runs))
    if not rows:
        return []
    out = ["## Against PPO at matched wall-clock", "",
           "SATR and sb3's PPO (with an LSTM policy from sb3-contrib, or feed-forward), RL Zoo "
           "hyperparameters, each trained alone on both cores of this machine under the same "
           "wall-clock budget, evaluation time excluded (`benchmarks/peer_compare.py`). True "
           "return at the budget, mean ± std over seeds; the full comparison (curves, time to "
           "reach the other's return, settings, model sizes, inference time) is on the "
           "[peers page](peers.md).", "",
           "| task | method | settings | seeds | budget per run | return | env steps |",
           "|---|---|---|---|---|---|---|"]
    for task, method, _, metas in sorted(rows, key=lambda r: (r[0], r[1] != "satr", r[1])):
        budget = sorted({m["budget_seconds"] for m in metas})
        out.append(" | ".join([
            f"| {task}", pc.SHORT.get(method, method),
            "RL Zoo" if method != "satr" else
            "; ".join(sorted({pc._satr_settings(m) + _offset_note(m) for m in metas})),
            str(len(metas)),
            " / ".join(f"{b / 60:g} min" for b in budget),
            pc._ms([m["final_return"] for m in metas]),
            f"{np.mean([m['final_env_steps'] for m in metas]):,.0f} |"]))
    return out + [""]


def _offset_note(meta):
    """How a SATR peer run's training fitness was set (runs of the earlier runner predate
    ``reward_offset``)."""
    offset = meta.get("hyperparams", {}).get("reward_offset")
    return " (earlier defaults, no reward_offset)" if offset is None else \
        f", reward_offset={offset}"


# the planned grid (the issue's), used by `summary` to list missing cells
BASE = ("satr", "ec", "es")
SEEDS = (0, 1, 2)


GRID_BUDGET = 5_000_000  # environment steps per run of the main slices
SWEEP = ("ectr:30", "ectr:300", "ectr:3000")  # brackets SATR's KL per generation (50-1,500)
# the grid in the order it runs (`summary` lists the cells still missing, and prints these
# commands to continue it): the base grid a task at a time, then EC+TR's KL budget on two
# tasks, then Humanoid, longer
PLAN = (
    ("Hopper-v5", BASE, (32, 128), SEEDS, GRID_BUDGET),
    ("HalfCheetah-v5", BASE, (32, 128), SEEDS, GRID_BUDGET),
    ("Walker2d-v5", BASE, (32, 128), SEEDS, GRID_BUDGET),
    ("Hopper-v5", SWEEP, (32, 128), SEEDS, GRID_BUDGET),
    ("HalfCheetah-v5", SWEEP, (32, 128), SEEDS, GRID_BUDGET),
    ("Humanoid-v5", BASE, (128,), (0, 1), 10_000_000),
)


def plan_commands():
    out = []
    for task, methods, pops, seeds, budget in PLAN:
        out.append(f"python benchmarks/compare.py run --tasks {task} --pops "
                   f"{' '.join(map(str, pops))} --seeds {' '.join(map(str, seeds))} "
                   f"--methods {' '.join(methods)} --budget {budget} --runners 2")
    return out


# --- what the final policies do ---------------------------------------------------------------
BEHAVIOUR_CSV = "behaviour.csv"
BEHAVIOUR_KEYS = ("length", "dx", "reward_forward", "reward_survive", "reward_ctrl")


def behaviour(task, policy, episodes=2, seed=EVAL_SEED):
    """Mean episode length, forward displacement and reward parts of ``policy`` on ``task``."""
    import gymnasium as gym
    env = gym.make(task)
    parts = {k: [] for k in BEHAVIOUR_KEYS}
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        policy.reset(seed=seed + ep)
        x0 = float(env.unwrapped.data.qpos[0])
        acc = dict.fromkeys(BEHAVIOUR_KEYS, 0.0)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(policy(obs))
            acc["length"] += 1
            acc["reward_forward"] += info.get("reward_forward", 0.0)
            acc["reward_survive"] += info.get("reward_survive", 0.0)
            acc["reward_ctrl"] += info.get("reward_ctrl", 0.0)
            done = terminated or truncated
        acc["dx"] = float(env.unwrapped.data.qpos[0]) - x0
        for k in BEHAVIOUR_KEYS:
            parts[k].append(acc[k])
    env.close()
    return {k: float(np.mean(v)) for k, v in parts.items()}


def cmd_inspect(args):
    """Run the final policy of every complete run with a checkpoint; write behaviour.csv."""
    from satrlearn import load_checkpoint
    out_path = os.path.join(args.results, BEHAVIOUR_CSV)
    done = {}
    if os.path.isfile(out_path):
        with open(out_path, newline="") as fh:
            done = {r["run"]: r for r in csv.DictReader(fh)}
    rows = []
    for meta, _ in load_runs(args.results):
        run = os.path.basename(meta["path"])[:-len(".csv")]
        ckpt = os.path.join(args.results, "checkpoints", run)
        if not meta["complete"]:
            continue
        if run in done:
            rows.append([done[run][k] for k in ("run", "task", "method", "pop", "seed")
                         + BEHAVIOUR_KEYS])
            continue
        if not os.path.isfile(os.path.join(ckpt, "checkpoint.npz")):
            continue
        b = behaviour(meta["task"], load_checkpoint(ckpt).policy_)
        rows.append([run, meta["task"], meta["method"], meta["pop"], meta["seed"]]
                    + [_fmt(b[k]) for k in BEHAVIOUR_KEYS])
        print(f"{run}: " + ", ".join(f"{k} {b[k]:.1f}" for k in BEHAVIOUR_KEYS), flush=True)
    write_csv_atomic(out_path, ["run", "task", "method", "pop", "seed", *BEHAVIOUR_KEYS], rows)
    print(f"wrote {os.path.relpath(out_path, ROOT)} ({len(rows)} runs)")
    return 0


def cmd_summary(args):
    runs = load_runs(args.results)
    for meta, _ in runs:  # the page's return: best_policy_'s, else the final mode's
        meta["score"] = meta["best_eval"] if math.isfinite(meta["best_eval"]) else \
            meta["final_eval"]
    expected = [c for task, methods, pops, seeds, budget in PLAN
                for c in build_grid([task], methods, pops, seeds, budget)]
    groups, partial, missing = summarize(runs, expected)
    plots = make_plots(groups, args.img) if groups else {}
    reading = ""
    if os.path.isfile(args.out):
        with open(args.out) as fh:
            text = fh.read()
        if READING_START in text and READING_END in text:
            reading = text.split(READING_START, 1)[1].split(READING_END, 1)[0]
    args.tasks = [slice_name(p[0], p[4]) for p in PLAN]
    args.commands = plan_commands()
    behaviour_rows = []
    bpath = os.path.join(args.results, BEHAVIOUR_CSV)
    if os.path.isfile(bpath):
        with open(bpath, newline="") as fh:
            behaviour_rows = list(csv.DictReader(fh))
        for r in behaviour_rows:  # the run name ends with its budget: "..._300000steps"
            budget = re.search(r"_(\d+)steps$", r["run"])
            if budget:
                r["task"] = slice_name(r["task"], int(budget.group(1)))
    page = render(groups, partial, missing, plots, reading, args, behaviour_rows)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write(page)
    n_complete = sum(len(v) for v in groups.values())
    print(f"{n_complete} complete runs, {len(partial)} partial, {len(missing)} planned cells "
          f"missing; wrote {os.path.relpath(args.out, ROOT)} and "
          f"{sum(len(v) for v in plots.values())} plots")
    return 0


# --- command line ---------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run (or resume) the cells of a grid")
    run.add_argument("--tasks", nargs="+", default=["Hopper-v5"])
    run.add_argument("--pops", nargs="+", type=int, default=[32, 128])
    run.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    run.add_argument("--methods", nargs="+", type=parse_method, default=["satr", "ec", "es"],
                     help="satr, ec, es, ectr:DELTA (EC+TR with KL budget DELTA)")
    run.add_argument("--budget", type=int, default=GRID_BUDGET,
                     help="environment steps per run (default 300000)")
    run.add_argument("--n-jobs", type=int, default=1, help="worker processes per run")
    run.add_argument("--runners", type=int, default=1, help="runs at a time")
    run.add_argument("--results", default=RESULTS)
    run.add_argument("--dry-run", action="store_true", help="list the cells and stop")

    cell = sub.add_parser("cell", help="run one cell in this process (used by `run`)")
    cell.add_argument("--task", required=True)
    cell.add_argument("--method", required=True, type=parse_method)
    cell.add_argument("--pop", required=True, type=int)
    cell.add_argument("--seed", required=True, type=int)
    cell.add_argument("--budget", required=True, type=int)
    cell.add_argument("--n-jobs", type=int, default=1)
    cell.add_argument("--results", default=RESULTS)

    insp = sub.add_parser("inspect", help="run every finished run's final policy and log "
                          "episode length, displacement and reward parts (behaviour.csv)")
    insp.add_argument("--results", default=RESULTS)

    summ = sub.add_parser("summary", help="write docs/results.md and docs/img/*.png")
    summ.add_argument("--results", default=RESULTS)
    summ.add_argument("--out", default=DOC)
    summ.add_argument("--img", default=IMG)

    args = parser.parse_args(argv)
    if getattr(args, "budget", 1) is not None and getattr(args, "budget", 1) < 1:
        parser.error("--budget must be a positive number of environment steps.")
    if args.command == "run" and (args.runners < 1 or args.n_jobs == 0):
        parser.error("--runners must be >= 1 and --n-jobs non-zero.")
    return {"run": cmd_run, "cell": cmd_cell, "inspect": cmd_inspect,
            "summary": cmd_summary}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
