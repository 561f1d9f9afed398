"""SATR against Stable-Baselines3's PPO and recurrent PPO at matched wall-clock on this CPU.

Two commands:

    python benchmarks/peer_compare.py run --tasks Hopper-v5 Walker2d-v5 HalfCheetah-v5 \
        --seeds 0 1 2 --methods satr ppo_lstm ppo --budget-seconds 600
    python benchmarks/peer_compare.py summary

``run`` trains each method in turn (benchmarks/peers/satr_run.py, benchmarks/peers/ppo_lstm.py
for sb3-contrib's RecurrentPPO with an LSTM policy, benchmarks/peers/ppo.py for SB3's
feed-forward PPO; one process at a time, each on every core) for every task and seed under
the same wall-clock budget, writing ``RESULTS/<task>/<method>-seed<k>/curve.csv`` and
``run.json``. It is resumable: a run whose ``run.json`` exists with the same budget is
skipped; an unfinished one (killed, or the session ended) is started again from scratch,
since a wall-clock curve cannot be stitched together. A finished run with another budget,
one from another machine (CPU model or core count: wall-clock budgets do not compare across
machines), a SATR run recorded by the earlier runner (its fixed pop=128, eta=30 and
``policy_`` only) or one whose network's input gain ``k_in`` is not today's default (the
runs before 2026-12-04 used 0.1) stops ``run`` with a message instead of being mixed in or
overwritten.
Models go to ``--models`` (default ``runs/peers``, not committed).

``summary`` turns the results into docs/peers.md (``--out``): the return at the matched
budget per method, the time SATR needs to reach each peer's final return and each peer
SATR's, model sizes, inference time, and one return-vs-wall-clock plot per task with every
method under ``--img`` (default docs/img/). Any subset of the methods may be present.
Results from budgets under ``--min-real-budget`` seconds (default 600) are pipeline checks:
pass their folder as ``--smoke``, and they are shown in their own, labelled section only.

Needs the ``bench`` extra (``pip install -e ".[bench]"``) and, for the plots, matplotlib.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "peers"))
from common import machine_info, read_curve  # noqa: E402
from run_records import default_k_in  # noqa: E402

#: The methods, SATR (the reference every peer is compared with) first.
METHODS = {"satr": os.path.join(HERE, "peers", "satr_run.py"),
           "ppo_lstm": os.path.join(HERE, "peers", "ppo_lstm.py"),
           "ppo": os.path.join(HERE, "peers", "ppo.py")}
LABELS = {"satr": "SATR (satrlearn)", "ppo_lstm": "PPO-LSTM (sb3-contrib RecurrentPPO)",
          "ppo": "PPO (Stable-Baselines3, MLP policy)"}
SHORT = {"satr": "SATR", "ppo_lstm": "PPO-LSTM", "ppo": "PPO"}
COLORS = {"satr": "tab:blue", "ppo_lstm": "tab:orange", "ppo": "tab:green"}
REFERENCE = "satr"
SB3 = ("ppo_lstm", "ppo")  # torch-based: take --ppo-threads, record rollouts and updates
DEFAULT_RESULTS = os.path.join("benchmarks", "results", "peers")
REAL_TASKS = ("Hopper-v5", "Walker2d-v5", "HalfCheetah-v5")
REAL_SEEDS = (0, 1, 2)
REAL_METHODS = ("satr", "ppo_lstm", "ppo")
REAL_BUDGET = 600
REAL_COMMAND = (f"python benchmarks/peer_compare.py run --tasks {' '.join(REAL_TASKS)} "
                f"--seeds {' '.join(map(str, REAL_SEEDS))} --methods {' '.join(REAL_METHODS)} "
                f"--budget-seconds {REAL_BUDGET}\n"
                "python benchmarks/peer_compare.py summary")


# --- run -----------------------------------------------------------------------------------
def run_dir(results, task, method, seed):
    return os.path.join(results, task, f"{method}-seed{seed}")


def old_satr_runner(meta) -> bool:
    """A SATR run.json of the earlier runner: fixed pop=128, eta=30, only ``policy_``
    evaluated (it has no ``curve_policy``)."""
    return meta.get("method") == "satr" and "curve_policy" not in meta


def machine_key(machine) -> tuple:
    """What makes two wall-clock runs comparable: the CPU model and the core count."""
    return (machine.get("cpu", "?"), machine.get("cores", "?"))


def _satr_k_in(run) -> float:
    """The input gain of a recorded SATR run: its recorded network, else the default of
    its time (0.1: runs before 2026-12-04 recorded no network and ``network_params=None``)."""
    if "network" in run:
        return float(run["network"]["k_in"])
    params = (run.get("hyperparams") or {}).get("network_params") or {}
    return float(params.get("k_in", 0.1))


def finished(path, budget, machine) -> tuple[bool | None, str]:
    """``(True, "")`` when finished with this budget by the current runner on this machine,
    ``(None, why)`` when finished with another budget, by SATR's earlier runner or on
    another machine (``machine``: this one's ``machine_info()``), else ``(False, "")``."""
    meta = os.path.join(path, "run.json")
    if not os.path.exists(meta):
        return False, ""
    with open(meta) as fh:
        done = json.load(fh)
    if old_satr_runner(done):
        return None, "a run of SATR's earlier runner (fixed pop=128, eta=30, policy_ only)"
    if done.get("method") == "satr" and _satr_k_in(done) != default_k_in():
        return None, (f"a SATR run with the network's input gain k_in={_satr_k_in(done):g} "
                      f"(today's default is {default_k_in():g})")
    if not math.isclose(done["budget_seconds"], budget):
        return None, f"a run with another budget ({done['budget_seconds']:g} s)"
    if done.get("machine") and machine_key(done["machine"]) != machine_key(machine):
        cpu, cores = machine_key(done["machine"])
        return None, (f"a run from another machine ({cpu}, {cores} cores; wall-clock "
                      "budgets do not compare across machines)")
    return True, ""


def cmd_run(args):
    plan = [(t, s, m) for t in args.tasks for s in args.seeds for m in args.methods]
    todo, here = [], machine_info()
    for task, seed, method in plan:
        path = run_dir(args.results, task, method, seed)
        state, why = finished(path, args.budget_seconds, here)
        if state is None:
            sys.exit(f"{path} holds {why}; use another --results folder, or move it aside "
                     "(it is kept, not overwritten).")
        if not state:
            todo.append((task, seed, method))
    total = len(todo) * args.budget_seconds
    print(f"{len(plan) - len(todo)} of {len(plan)} runs done; {len(todo)} to go, about "
          f"{total / 3600:.1f} h of training plus evaluation.", flush=True)
    for i, (task, seed, method) in enumerate(todo, 1):
        path = run_dir(args.results, task, method, seed)
        if os.path.isdir(path):
            shutil.rmtree(path)  # an unfinished curve: start again
        cmd = [sys.executable, METHODS[method], "--env", task, "--seed", str(seed),
               "--budget-seconds", str(args.budget_seconds), "--out", path,
               "--models", args.models, "--eval-episodes", str(args.eval_episodes)]
        if args.eval_every:
            cmd += ["--eval-every", str(args.eval_every)]
        if method in SB3:
            cmd += ["--threads", str(args.ppo_threads)]
        print(f"[{i}/{len(todo)}] {time.strftime('%H:%M:%S')} {method} {task} seed {seed}",
              flush=True)
        subprocess.run(cmd, check=True)
    return 0


# --- summary -------------------------------------------------------------------------------
def load_runs(results):
    """{(task, method, seed): {"meta": run.json, "curve": rows}} for the finished runs."""
    runs = {}
    if not os.path.isdir(results):
        return runs
    for task in sorted(os.listdir(results)):
        tdir = os.path.join(results, task)
        if not os.path.isdir(tdir):
            continue
        for name in sorted(os.listdir(tdir)):
            meta = os.path.join(tdir, name, "run.json")
            if not os.path.exists(meta):
                continue
            with open(meta) as fh:
                m = json.load(fh)
            if m.get("method") not in METHODS:
                continue
            runs[(task, m["method"], m["seed"])] = {
                "meta": m, "curve": read_curve(os.path.join(tdir, name, "curve.csv"))}
    return runs


def time_to_reach(curve, target):
    """First wall-clock at which the evaluated return is >= target, or None."""
    for row in curve:
        if row["eval_return"] >= target:
            return row["wall_clock"]
    return None


def step_value(curve, t):
    """The last evaluated return at or before wall-clock ``t`` (NaN before the first)."""
    value = math.nan
    for row in curve:
        if row["wall_clock"] <= t:
            value = row["eval_return"]
    return value


def _ms(values, digits=0):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def _bytes(n):
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _time(t):
    return "not reached" if t is None else f"{t:.0f} s"


def by_task(runs):
    """{task: {method: {seed: run}}}, methods in ``METHODS`` order, seeds sorted."""
    out = {}
    for (task, method, seed), run in runs.items():
        out.setdefault(task, {}).setdefault(method, {})[seed] = run
    return {task: {m: dict(sorted(ms[m].items())) for m in METHODS if m in ms}
            for task, ms in sorted(out.items())}


def pairs(runs, methods=None):
    """{task: [(seed, {method: run})]} for the seeds where every one of ``methods`` (default:
    all of ``METHODS``) finished."""
    methods = tuple(METHODS) if methods is None else tuple(methods)
    table = {}
    for task, per in by_task(runs).items():
        seeds = sorted({s for ms in per.values() for s in ms})
        table[task] = [(seed, {m: per[m][seed] for m in methods})
                       for seed in seeds if all(seed in per.get(m, {}) for m in methods)]
    return table


def per_method(runs):
    """(task, method, its runs in seed order, their run.json records) for every method of
    every task with finished runs."""
    for task, per in by_task(runs).items():
        for method, seeds in per.items():
            rows = list(seeds.values())
            yield task, method, rows, [r["meta"] for r in rows]


def peers_of(per):
    """The peers (methods other than SATR) of one task's ``{method: ...}``."""
    return [m for m in per if m != REFERENCE]


def task_tables(runs):
    """The markdown tables of one results folder, and per-task numbers for the reading."""
    lines, facts = [], {}
    tasks = by_task(runs)
    lines += ["Return at the budget is the last evaluation (5 episodes, mean ± std over "
              "seeds); a single evaluation can land in a dip, so the mean of the last three "
              "evaluations and the best evaluation of the run are given beside it. SATR's is "
              "that of the network its curve evaluates (the SATR table below says which).",
              "",
              "| task | method | seeds | budget (s) | return at the budget | mean of last 3 "
              "evaluations | best evaluation | stopped at (s) | env steps | eval time (s) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for task, method, rows, ms in per_method(runs):
        curves = [r["curve"] for r in rows]
        lines.append(
            f"| {task} | {SHORT[method]} | {len(ms)} | "
            f"{_ms([m['budget_seconds'] for m in ms])} | "
            f"{_ms([m['final_return'] for m in ms], 1)} | "
            f"{_ms([np.mean([x['eval_return'] for x in c[-3:]]) for c in curves], 1)} | "
            f"{_ms([max(x['eval_return'] for x in c) for c in curves], 1)} | "
            f"{_ms([m['final_wall_clock'] for m in ms])} | "
            f"{_ms([m['final_env_steps'] for m in ms])} | "
            f"{_ms([m['eval_seconds_total'] for m in ms], 1)} |")
        facts.setdefault(task, {"finals": {}, "ratios": {}})["finals"][method] = \
            [m["final_return"] for m in ms]
    lines += [""] + satr_table(runs)
    # time to reach: SATR against each peer, on the seeds both finished
    lines += ["", "Time SATR needs to reach each peer's final return and the time the peer "
              "needs to reach SATR's (per seed both finished; the ratio is the other's "
              "stopping time over that time, so above 1 means the method gets there that "
              "many times sooner):", "",
              "| task | peer | seed | SATR final | peer final | SATR reaches the peer's final "
              "at | the peer reaches SATR's final at | ratio |",
              "|---|---|---|---|---|---|---|---|"]
    for task, per in tasks.items():
        for peer in peers_of(per):
            ratios = []
            for seed, r in pairs(runs, (REFERENCE, peer)).get(task, []):
                s, p = r[REFERENCE], r[peer]
                rs, rp = s["meta"]["final_return"], p["meta"]["final_return"]
                ts = time_to_reach(s["curve"], rp)  # SATR to the peer's final
                tp = time_to_reach(p["curve"], rs)  # the peer to SATR's final
                if rs >= rp and ts:
                    ratio = f"SATR {p['meta']['final_wall_clock'] / ts:.1f}x sooner"
                    ratios.append(p["meta"]["final_wall_clock"] / ts)
                elif rp > rs and tp:
                    ratio = f"{SHORT[peer]} {s['meta']['final_wall_clock'] / tp:.1f}x sooner"
                    ratios.append(-s["meta"]["final_wall_clock"] / tp)
                else:
                    ratio = "n/a"
                lines.append(f"| {task} | {SHORT[peer]} | {seed} | {rs:.1f} | {rp:.1f} | "
                             f"{_time(ts)} | {_time(tp)} | {ratio} |")
            facts[task]["ratios"][peer] = ratios
    lines += ["", "Model size and inference (the trained policies; inference is one "
              f"single-observation deterministic action, median over "
              f"{_first(runs, 'inference_calls')} calls with the recurrent state carried, "
              "normalisation included, environment step excluded; mean ± std over seeds):", "",
              "| task | method | parameters to act (all) | stored as | file on disk "
              "| inference (µs, median) |", "|---|---|---|---|---|---|"]
    for task, method, rows, ms in per_method(runs):
        m = ms[0]
        if "bytes_model_zip" in m:
            norm = (f"; normaliser {_bytes(m['bytes_normalizer'])}"
                    if m.get("bytes_normalizer") else "")
            files = (f"{_bytes(m['bytes_on_disk'])} (zip {_bytes(m['bytes_model_zip'])}, of "
                     f"which policy weights {_bytes(m['bytes_policy_weights'])}, the rest "
                     f"optimiser state{norm})")
        else:
            files = f"{_bytes(m['bytes_on_disk'])} (policy.npz)"
        lines.append(f"| {task} | {SHORT[method]} | {m['parameters_actor']:,} "
                     f"({m['parameters']:,}) | {m['parameter_dtype']} | {files} | "
                     f"{_ms([x['inference_us_median'] for x in ms])} |")
    lines += ["", "Where the training wall-clock goes (means over seeds): the PPO methods "
              "between collecting rollouts and their gradient updates; SATR between its "
              "generations (evaluating the population and, every `eval_every` generations, "
              "its own evaluation of the candidates for `best_policy_`; updating the "
              "distribution) and the rest (worker start-up, building `policy_`, callback "
              "bookkeeping):", "",
              "| task | method | training wall-clock (s) | of which | env steps per second |",
              "|---|---|---|---|---|"]
    for task, method, rows, ms in per_method(runs):
        clock = np.mean([m["final_wall_clock"] for m in ms])
        if method in SB3:
            part = [m.get("update_seconds") for m in ms]
            split = ("updates n/a" if None in part else
                     f"rollouts {clock - np.mean(part):.0f} s, updates "
                     f"{np.mean(part):.0f} s")
        else:
            gen = np.mean([m["search_seconds"] for m in ms])
            split = f"generations {gen:.0f} s, rest {clock - gen:.0f} s"
        rate = np.mean([m["final_env_steps"] / max(m["final_wall_clock"], 1e-9)
                        for m in ms])
        lines.append(f"| {task} | {SHORT[method]} | {clock:.0f} | {split} | {rate:,.0f} |")
    return lines, facts


def _satr_settings(meta):
    hp = meta.get("hyperparams", {})
    keys = [k for k in ("pop", "n_hidden", "eta", "n_episodes", "eval_every") if k in hp]
    return ", ".join(f"{k}={hp[k]:g}" if isinstance(hp[k], float) else f"{k}={hp[k]}"
                     for k in keys)


def satr_table(runs):
    """SATR's settings and, where recorded, ``best_policy_`` against ``policy_``."""
    groups = {}
    for task, method, rows, ms in per_method(runs):
        if method != REFERENCE:
            continue
        for m in ms:
            kind = "policy_" if old_satr_runner(m) else m.get("curve_policy", "best_policy_")
            groups.setdefault((task, _satr_settings(m), kind), []).append(m)
    if not groups:
        return []
    lines = ["SATR's settings (as run.json records them) and the network its curve "
             "evaluates: `best_policy_`, the network the fit's own evaluations (every "
             "`eval_every` generations) chose, is what the estimator hands a user; `policy_` "
             "is the deterministic network of the final distribution. Runs of the earlier "
             "runner evaluated `policy_` only.", "",
             "| task | seeds | settings | curve evaluates | return at the budget | `policy_` "
             "at the budget | the fit's own score of `best_policy_` |",
             "|---|---|---|---|---|---|---|"]
    for (task, settings, kind), ms in groups.items():
        mode = [m.get("final_return_mode", m["final_return"] if kind == "policy_" else None)
                for m in ms]
        lines.append(f"| {task} | {', '.join(str(m['seed']) for m in ms)} | {settings} | "
                     f"`{kind}` | {_ms([m['final_return'] for m in ms], 1)} | "
                     f"{_ms(mode, 1)} | {_ms([m.get('best_score_fit') for m in ms], 1)} |")
    return lines


def _first(runs, key, default="?"):
    for r in runs.values():
        if key in r["meta"]:
            return r["meta"][key]
    return default


def make_plot(runs, task, path, title):
    """Return against training wall-clock for every method of ``task`` (each seed thin, the
    mean thick), with the time SATR reaches each peer's mean final return and back."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per = by_task(runs).get(task)
    if not per:
        return None
    metas = [r["meta"] for seeds in per.values() for r in seeds.values()]
    end = max(max(m["budget_seconds"], m["final_wall_clock"]) for m in metas)
    grid = np.linspace(0, end, 400)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    means = {}
    for method, seeds in per.items():
        curves = [r["curve"] for r in seeds.values()]
        for c in curves:
            ax.plot([x["wall_clock"] / 60 for x in c], [x["eval_return"] for x in c],
                    color=COLORS[method], alpha=0.25, lw=0.8, drawstyle="steps-post")
        stacked = np.array([[step_value(c, t) for t in grid] for c in curves])
        with warnings.catch_warnings():  # before a seed's first evaluation: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(stacked, axis=0)
        mean[grid > max(c[-1]["wall_clock"] for c in curves)] = np.nan  # after the last run
        means[method] = (mean, np.mean([r["meta"]["final_return"] for r in seeds.values()]))
        ax.plot(grid / 60, mean, color=COLORS[method], lw=2,
                label=f"{LABELS[method]}, mean of {len(curves)} seed(s)")
        ax.axhline(means[method][1], color=COLORS[method], ls=":", lw=1)
    # the time each needs to reach the return the other ends at (on the mean curves): SATR
    # against each peer, both ways
    marks = []
    if REFERENCE in per:
        for peer in peers_of(per):
            marks += [(REFERENCE, peer), (peer, REFERENCE)]
    notes = []
    for method, other in marks:
        target = means[other][1]
        reached = np.nonzero(means[method][0] >= target)[0]
        if len(reached):
            t = grid[reached[0]]
            ax.plot([t / 60], [target], "o", color=COLORS[method], ms=5)
            notes.append((f"{SHORT[method]} reaches {SHORT[other]}'s final return at "
                          f"{t / 60:.1f} min (dot)", COLORS[method]))
    for k, (text, color) in enumerate(notes):  # stacked in the lower right corner
        ax.text(0.99, 0.03 + 0.055 * k, text, transform=ax.transAxes, ha="right",
                va="bottom", fontsize=7, color=color)
    budget = max(m["budget_seconds"] for m in metas)
    ax.axvline(budget / 60, color="0.5", ls="--", lw=1)
    ax.annotate("budget", (budget / 60, 1), xycoords=("data", "axes fraction"),
                xytext=(-4, -4), textcoords="offset points", ha="right", va="top",
                fontsize=8, color="0.4")
    ax.set_xlabel("training wall-clock (minutes, evaluation excluded)")
    ax.set_ylabel("deterministic evaluation return")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncol=min(len(per), 2), frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reading(facts):
    out = []
    for task, f in facts.items():
        finals = f["finals"]
        means = {m: np.mean(v) for m, v in finals.items()}
        ends = [f"{SHORT[m]} {means[m]:.1f} ({len(finals[m])} seed(s))" for m in finals]
        line = (f"- {task}: return at the matched budget, mean over seeds: " + _join(ends)
                + f"; {SHORT[max(means, key=means.get)]} is ahead.")
        for peer, ratios in f["ratios"].items():
            if not ratios:
                continue
            r = [abs(x) for x in ratios]
            who = {x > 0 for x in ratios}
            if len(who) == 1:
                first, other = ((SHORT[REFERENCE], SHORT[peer]) if who == {True}
                                else (SHORT[peer], SHORT[REFERENCE]))
                span = (f"{min(r):.1f}x" if len(r) == 1 or round(min(r), 1) == round(max(r), 1)
                        else f"{min(r):.1f}-{max(r):.1f}x")
                line += (f" {first} reaches {other}'s final return {span} sooner than {other} "
                         "stops (per seed).")
            else:
                line += (f" Against {SHORT[peer]}, the seeds disagree on which method gets "
                         "there first.")
        out.append(line)
    return out


def _join(items):
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def unpaired(runs):
    """Runs missing for a task and seed where another method finished (the methods and
    seeds of that task seen in the folder)."""
    out = []
    for task, per in by_task(runs).items():
        seeds = sorted({s for ms in per.values() for s in ms})
        out += [f"{task} {SHORT[m]} seed {s}" for m in per for s in seeds if s not in per[m]]
    return out


def setup_lines(runs):
    metas = {}
    for r in runs.values():
        metas.setdefault(r["meta"]["method"], r["meta"])
    machines = {}
    for r in runs.values():
        mach = r["meta"].get("machine") or {}
        machines.setdefault(machine_key(mach) + (mach.get("python", "?"),), []).append(r)
    v = {}
    for m in metas.values():
        v.update(m.get("versions", {}))
    where = [f"{cpu}, {cores} cores, Python {py}" for cpu, cores, py in machines]
    line = ("Machine: " + where[0] + "." if len(where) == 1 else
            "**Machines differ between runs** (wall-clock results do not compare across "
            "them): " + "; ".join(f"{w} ({len(rs)} runs)"
                                  for w, rs in zip(where, machines.values())) + ".")
    return [line + " Versions: " + ", ".join(f"{k} {v[k]}" for k in sorted(v)) + "."]


def satr_bullet(runs):
    """What the page says about SATR's settings: from the runs when there are any."""
    settings = sorted({_satr_settings(r["meta"]) for (_, m, _), r in runs.items()
                       if m == REFERENCE and not old_satr_runner(r["meta"])})
    old = any(old_satr_runner(r["meta"]) for r in runs.values())
    text = ("- **SATR**: `SATRSearch`'s defaults on every core (`n_jobs=-1`) with "
            "`max_time` set to the budget" + (f" (here {'; '.join(settings)})" if settings
                                              else "")
            + "; the callback evaluates `best_policy_`, the network the fit's own periodic "
            "evaluations chose, and `policy_`, the deterministic network of the generation "
            "that just finished (`search_seconds` in run.json is the generations alone, "
            "their own evaluations included).")
    if old:
        text += (" Runs of the earlier runner (the SATR table says which) used the defaults "
                 "of their time, `pop=128`, `n_hidden=256`, `eta=30`, and evaluated "
                 "`policy_` only.")
    return text


def cmd_summary(args):
    real = load_runs(args.results)
    real = {k: r for k, r in real.items()
            if r["meta"]["budget_seconds"] >= args.min_real_budget}
    smoke = load_runs(args.smoke) if args.smoke else {}
    img_rel = os.path.relpath(args.img, os.path.dirname(os.path.abspath(args.out)))
    n_runs = len(REAL_TASKS) * len(REAL_SEEDS) * len(REAL_METHODS)
    doc = [
        "# satrlearn against PPO and PPO-LSTM at matched wall-clock",
        "",
        "<!-- written by `python benchmarks/peer_compare.py summary`; do not edit by hand -->",
        "",
        "Users choosing between satrlearn and Stable-Baselines3 want to know which gets "
        "the higher return for the same CPU time. This page compares `SATRSearch` with "
        "Stable-Baselines3's feed-forward `PPO` (the usual baseline on these tasks) and "
        "sb3-contrib's `RecurrentPPO` (an LSTM policy, the closest recurrent gradient-based "
        "peer) on the same Gymnasium task, the same two CPU cores and the same wall-clock "
        "budget, and reports what each trained policy costs to store and to run.",
        "",
    ]
    if real:
        doc += ["## Results", ""] + setup_lines(real) + [""]
        lines, facts = task_tables(real)
        doc += lines + [""]
        for task in sorted({k[0] for k in real}):
            p = make_plot(real, task, os.path.join(args.img, f"peers_{task}.png"),
                          f"{task}: return vs training wall-clock, same 2 CPU cores")
            if p:
                doc += [f"![{task}]({img_rel}/peers_{task}.png)", ""]
        doc += ["### Reading", ""] + reading(facts) + [""]
        missing = unpaired(real)
        if missing:
            doc += ["Runs still missing for a task and seed that another method finished "
                    "(those seeds are left out of the time-to-reach rows of that pair): "
                    + ", ".join(missing) + ".", ""]
        note = os.path.join(args.results, "NOTE.md")
        if os.path.exists(note):  # the hand-written reading, kept with the data
            with open(note) as fh:
                doc += [fh.read().strip(), ""]
        doc += ["To repeat (finished runs are skipped; a cut run restarts), on a quiet "
                "machine with the `bench` extra:", "", "```", REAL_COMMAND, "```", ""]
    else:
        doc += [
            "## Status: the comparison has not been run yet",
            "",
            "The pipeline is in place and was checked end to end with a tiny budget (below), "
            "but the real runs need the machine to itself for several hours: "
            f"{_join(list(REAL_TASKS))}, {len(REAL_SEEDS)} seeds each, "
            f"{REAL_BUDGET / 60:g} minutes per run for each of {len(REAL_METHODS)} methods is "
            f"{n_runs} runs, about {n_runs * REAL_BUDGET / 3600:.1f} hours of machine time "
            "(plus evaluation). `run` is resumable: finished runs are skipped, so it can be "
            "spread over several sessions (a run cut short restarts from scratch). On a quiet "
            "machine, from the repository root:",
            "",
            "```",
            'pip install -e ".[bench,plot]"',
            REAL_COMMAND,
            "```",
            "",
            "Install the CPU build of torch 2.13.0 before the extra where pip would "
            "otherwise pick a CUDA build (several GB, of no use here). Nothing else may run on "
            "the machine meanwhile: every method uses both cores, and the PPO methods' two "
            "torch threads slow down sharply when they have to share them.",
            "",
        ]
    doc += [
        "## What is measured",
        "",
        "- **Same hardware, one method at a time.** PPO and PPO-LSTM use "
        "`torch.set_num_threads(2)`, SATR `n_jobs=-1` (both cores); no two runs overlap.",
        "- **Wall-clock** is training time from the construction of the model (PPO and "
        "PPO-LSTM: the environment, VecNormalize and the networks; SATR: the estimator, whose "
        "`fit` starts its worker processes), with evaluation time measured separately and "
        "subtracted; the evaluation time is reported in its own column.",
        "- **Evaluation**: every budget/20 seconds, the current policy plays 5 fresh "
        "episodes on fixed seeds with deterministic actions (PPO-LSTM carrying its LSTM "
        "state), scored by the environment's own reward; the curve records (wall-clock, "
        "environment steps, mean return).",
        "- **Stopping**: each method stops when one more unit of work (a PPO rollout plus "
        "its update; a SATR generation) as long as the last one would end past the budget, "
        "then is evaluated a last time. That final evaluation is the *return at the "
        "budget*; it lies inside the budget unless the unit of work grew (a generation "
        "with longer episodes), which the *stopped at* column shows.",
        "- **Time to reach the other's final return**: the first evaluation at which one "
        "method's return is at least the other's final return, for SATR against each peer "
        "on the seeds both finished.",
        "- **PPO hyperparameters**: the RL Baselines3 Zoo's tuned `ppo.yml` values for "
        "Hopper-v4, Walker2d-v4 and HalfCheetah-v4 (the Zoo has no v5 entries), written out "
        "in `benchmarks/peers/ppo.py`: one environment, VecNormalize, `MlpPolicy` with "
        "256-256 ReLU actor and critic on Hopper and HalfCheetah and SB3's default 64-64 "
        "tanh on Walker2d.",
        "- **PPO-LSTM hyperparameters**: the RL Baselines3 Zoo's tuned recurrent-PPO "
        "values for Hopper-v3, HalfCheetah-v3, Humanoid-v3 and Walker2d-v4, written out in "
        "`benchmarks/peers/ppo_lstm.py` (one environment, VecNormalize, LSTM of 256 units "
        "with 256-256 ReLU layers for actor and critic; sb3-contrib's default 64-64 tanh "
        "layers on Walker2d). Both PPO sets were tuned for a step budget of 1e6 (1e7 for "
        "Humanoid), not for wall-clock.",
        satr_bullet({**real, **smoke}),
        "- **Size**: the PPO methods' parameters to act are their actor (LSTM, MLP, action "
        "head, log-std); the count in brackets adds the critic. Their file is the SB3 zip "
        "(weights of actor and critic, optimiser state) plus the VecNormalize statistics. "
        "SATR's parameters are binary connections stored at one bit each in `policy.npz` "
        "(`best_policy_`) with its observation normaliser.",
        "",
        "Raw data: `benchmarks/results/peers/<task>/<method>-seed<k>/curve.csv` and "
        "`run.json`. Models are written to `runs/peers/` (not committed).",
        "",
    ]
    if smoke:
        budgets = sorted({r["meta"]["budget_seconds"] for r in smoke.values()})
        doc += [
            "## Smoke check (pipeline only, not the comparison)",
            "",
            f"A {', '.join(f'{b:.0f}' for b in budgets)}-second budget per method. It "
            "proves that the runners, the CSVs, the summary and the plot work. Returns "
            "after so short a budget say nothing about which method is ahead after a real "
            "budget; do not quote these numbers as the comparison.",
            "",
        ] + setup_lines(smoke) + [""]
        note = os.path.join(args.smoke, "NOTE.md")
        if os.path.exists(note):  # what the person who ran the check saw, kept with the data
            with open(note) as fh:
                doc += [fh.read().strip(), ""]
        lines, _ = task_tables(smoke)
        doc += lines + [""]
        for task in sorted({k[0] for k in smoke}):
            p = make_plot(smoke, task, os.path.join(args.img, f"peers_smoke_{task}.png"),
                          f"SMOKE CHECK ONLY ({budgets[-1]:.0f} s budget): {task}")
            if p:
                doc += [f"![smoke check {task}]({img_rel}/peers_smoke_{task}.png)", ""]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write("\n".join(doc).rstrip() + "\n")
    print(f"wrote {args.out}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train the methods under one wall-clock budget")
    r.add_argument("--tasks", nargs="+", default=list(REAL_TASKS))
    r.add_argument("--seeds", nargs="+", type=int, default=list(REAL_SEEDS))
    r.add_argument("--budget-seconds", type=float, required=True)
    r.add_argument("--methods", nargs="+", default=list(REAL_METHODS), choices=list(METHODS))
    r.add_argument("--eval-every", type=float, default=None,
                   help="seconds between evaluations (default: budget / 20)")
    r.add_argument("--eval-episodes", type=int, default=5)
    r.add_argument("--ppo-threads", type=int, default=2,
                   help="torch threads for PPO and PPO-LSTM (default 2: the machine's cores)")
    r.add_argument("--results", default=DEFAULT_RESULTS)
    r.add_argument("--models", default=os.path.join("runs", "peers"))
    s = sub.add_parser("summary", help="write docs/peers.md and the plots")
    s.add_argument("--results", default=DEFAULT_RESULTS)
    s.add_argument("--smoke", default=os.path.join(DEFAULT_RESULTS, "smoke"),
                   help="folder of pipeline-check runs, shown in a labelled section")
    s.add_argument("--min-real-budget", type=float, default=600.0)
    s.add_argument("--out", default=os.path.join("docs", "peers.md"),
                   help="the page to write (default docs/peers.md)")
    s.add_argument("--img", default=os.path.join("docs", "img"),
                   help="folder for the plots (default docs/img)")
    args = ap.parse_args(argv)
    return cmd_run(args) if args.cmd == "run" else cmd_summary(args)


if __name__ == "__main__":
    sys.exit(main())
