"""SATR against recurrent PPO (sb3-contrib, LSTM policy) at matched wall-clock on this CPU.

Two commands:

    python benchmarks/peer_compare.py run --tasks Hopper-v5 HalfCheetah-v5 --seeds 0 1 \
        --budget-seconds 600
    python benchmarks/peer_compare.py summary

``run`` trains each method in turn (benchmarks/peers/ppo_lstm.py, benchmarks/peers/satr_run.py,
one process at a time, each on every core) for every task and seed under the same
wall-clock budget, writing ``RESULTS/<task>/<method>-seed<k>/curve.csv`` and ``run.json``.
It is resumable: a run whose ``run.json`` exists with the same budget is skipped; an
unfinished one (killed, or the session ended) is started again from scratch, since a
wall-clock curve cannot be stitched together. Models go to ``--models`` (default
``runs/peers``, not committed).

``summary`` turns the results into docs/peers.md (returns at the matched budget, the time
each method needs to reach the return the other ends at, model sizes, inference time) and
one return-vs-wall-clock plot per task under docs/img/. Results from budgets under
``--min-real-budget`` seconds (default 600) are pipeline checks: pass their folder as
``--smoke``, and they are shown in their own, labelled section only.

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
from common import read_curve  # noqa: E402

METHODS = {"ppo_lstm": os.path.join(HERE, "peers", "ppo_lstm.py"),
           "satr": os.path.join(HERE, "peers", "satr_run.py")}
LABELS = {"ppo_lstm": "PPO-LSTM (sb3-contrib RecurrentPPO)", "satr": "SATR (satrlearn)"}
SHORT = {"ppo_lstm": "PPO-LSTM", "satr": "SATR"}
COLORS = {"ppo_lstm": "tab:orange", "satr": "tab:blue"}
DEFAULT_RESULTS = os.path.join("benchmarks", "results", "peers")
REAL_COMMAND = ("python benchmarks/peer_compare.py run --tasks Hopper-v5 HalfCheetah-v5 "
                "--seeds 0 1 --budget-seconds 600\n"
                "python benchmarks/peer_compare.py summary")


# --- run -----------------------------------------------------------------------------------
def run_dir(results, task, method, seed):
    return os.path.join(results, task, f"{method}-seed{seed}")


def finished(path, budget) -> bool | None:
    """True when finished with this budget, None when finished with another, else False."""
    meta = os.path.join(path, "run.json")
    if not os.path.exists(meta):
        return False
    with open(meta) as fh:
        done = json.load(fh)
    return True if math.isclose(done["budget_seconds"], budget) else None


def cmd_run(args):
    plan = [(t, s, m) for t in args.tasks for s in args.seeds for m in args.methods]
    todo = []
    for task, seed, method in plan:
        path = run_dir(args.results, task, method, seed)
        state = finished(path, args.budget_seconds)
        if state is None:
            sys.exit(f"{path} holds a finished run with another budget; use another --results "
                     "folder or remove it.")
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
        if method == "ppo_lstm":
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


def pairs(runs):
    """{task: [(seed, {method: run})]} where both methods finished that seed."""
    out = {}
    for (task, method, seed) in runs:
        out.setdefault(task, set()).add(seed)
    table = {}
    for task, seeds in sorted(out.items()):
        rows = []
        for seed in sorted(seeds):
            both = {m: runs.get((task, m, seed)) for m in METHODS}
            if all(both.values()):
                rows.append((seed, both))
        table[task] = rows
    return table


def per_method(table):
    """(task, method, paired rows, their run.json records) for every task with runs."""
    for task, rows in table.items():
        if rows:
            for method in METHODS:
                yield task, method, rows, [r[method]["meta"] for _, r in rows]


def task_tables(runs):
    """The markdown tables of one results folder, and per-task numbers for the reading."""
    lines, facts = [], {}
    table = pairs(runs)
    lines += ["Return at the budget is the last evaluation (5 episodes); a single evaluation "
              "can land in a dip, so the mean of the last three evaluations and the best "
              "evaluation of the run are given beside it.", "",
              "| task | method | seeds | budget (s) | return at the budget | mean of last 3 "
              "evaluations | best evaluation | stopped at (s) | env steps | eval time (s) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for task, method, rows, ms in per_method(table):
        curves = [r[method]["curve"] for _, r in rows]
        lines.append(
            f"| {task} | {SHORT[method]} | {len(ms)} | "
            f"{_ms([m['budget_seconds'] for m in ms])} | "
            f"{_ms([m['final_return'] for m in ms], 1)} | "
            f"{_ms([np.mean([x['eval_return'] for x in c[-3:]]) for c in curves], 1)} | "
            f"{_ms([max(x['eval_return'] for x in c) for c in curves], 1)} | "
            f"{_ms([m['final_wall_clock'] for m in ms])} | "
            f"{_ms([m['final_env_steps'] for m in ms])} | "
            f"{_ms([m['eval_seconds_total'] for m in ms], 1)} |")
    lines += ["", "Time each method needs to reach the return the other ends at (per seed; "
              "the ratio is the other's stopping time over that time, so above 1 means the "
              "method gets there that many times sooner):", "",
              "| task | seed | SATR final | PPO-LSTM final | SATR reaches PPO-LSTM's final at "
              "| PPO-LSTM reaches SATR's final at | ratio |", "|---|---|---|---|---|---|---|"]
    for task, rows in table.items():
        ratios = []
        for seed, r in rows:
            s, p = r["satr"], r["ppo_lstm"]
            rs, rp = s["meta"]["final_return"], p["meta"]["final_return"]
            ts = time_to_reach(s["curve"], rp)  # SATR to PPO's final
            tp = time_to_reach(p["curve"], rs)  # PPO to SATR's final
            if rs >= rp and ts:
                ratio = f"SATR {p['meta']['final_wall_clock'] / ts:.1f}x sooner"
                ratios.append(p["meta"]["final_wall_clock"] / ts)
            elif rp > rs and tp:
                ratio = f"PPO-LSTM {s['meta']['final_wall_clock'] / tp:.1f}x sooner"
                ratios.append(-s["meta"]["final_wall_clock"] / tp)
            else:
                ratio = "n/a"
            lines.append(f"| {task} | {seed} | {rs:.1f} | {rp:.1f} | {_time(ts)} | "
                         f"{_time(tp)} | {ratio} |")
        facts[task] = {"ratios": ratios,
                       "satr": [r["satr"]["meta"]["final_return"] for _, r in rows],
                       "ppo_lstm": [r["ppo_lstm"]["meta"]["final_return"] for _, r in rows]}
    lines += ["", "Model size and inference (the trained policies; inference is one "
              f"single-observation deterministic action, median over "
              f"{_first(runs, 'inference_calls')} calls with the recurrent state carried, "
              "normalisation included, environment step excluded):", "",
              "| task | method | parameters to act (all) | stored as | file on disk "
              "| inference (µs, median) |", "|---|---|---|---|---|---|"]
    for task, method, rows, ms in per_method(table):
        m = ms[0]
        files = (f"{_bytes(m['bytes_on_disk'])} (zip {_bytes(m['bytes_model_zip'])}, of "
                 f"which policy weights {_bytes(m['bytes_policy_weights'])}, the rest "
                 "optimiser state; normaliser "
                 f"{_bytes(m['bytes_normalizer'])})" if method == "ppo_lstm"
                 else f"{_bytes(m['bytes_on_disk'])} (policy.npz)")
        lines.append(f"| {task} | {SHORT[method]} | {m['parameters_actor']:,} "
                     f"({m['parameters']:,}) | {m['parameter_dtype']} | {files} | "
                     f"{_ms([x['inference_us_median'] for x in ms])} |")
    lines += ["", "Where the training wall-clock goes (means over seeds): PPO-LSTM between "
              "collecting rollouts and its gradient updates; SATR between its generations "
              "(evaluating the population, updating the distribution) and the rest (worker "
              "start-up, building `policy_`, callback bookkeeping):", "",
              "| task | method | training wall-clock (s) | of which | env steps per second |",
              "|---|---|---|---|---|"]
    for task, method, rows, ms in per_method(table):
        clock = np.mean([m["final_wall_clock"] for m in ms])
        if method == "ppo_lstm":
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


def _first(runs, key, default="?"):
    for r in runs.values():
        if key in r["meta"]:
            return r["meta"][key]
    return default


def make_plot(runs, task, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = pairs(runs).get(task, [])
    if not rows:
        return None
    end = max(max(r[m]["meta"]["budget_seconds"], r[m]["meta"]["final_wall_clock"])
              for _, r in rows for m in METHODS)
    grid = np.linspace(0, end, 400)
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    means = {}
    for method in METHODS:
        curves = [r[method]["curve"] for _, r in rows]
        for c in curves:
            ax.plot([x["wall_clock"] / 60 for x in c], [x["eval_return"] for x in c],
                    color=COLORS[method], alpha=0.25, lw=0.8, drawstyle="steps-post")
        stacked = np.array([[step_value(c, t) for t in grid] for c in curves])
        with warnings.catch_warnings():  # before a seed's first evaluation: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(stacked, axis=0)
        means[method] = (mean, np.mean([r[method]["meta"]["final_return"] for _, r in rows]))
        ax.plot(grid / 60, mean, color=COLORS[method], lw=2,
                label=f"{LABELS[method]}, mean of {len(curves)} seed(s)")
    # the time each needs to reach the return the other ends at (on the mean curves)
    for method, other in (("satr", "ppo_lstm"), ("ppo_lstm", "satr")):
        target = means[other][1]
        ax.axhline(target, color=COLORS[other], ls=":", lw=1)
        reached = np.nonzero(means[method][0] >= target)[0]
        if len(reached):
            t = grid[reached[0]]
            ax.plot([t / 60], [target], "o", color=COLORS[method])
            ax.annotate(f"{SHORT[method]} reaches {SHORT[other]}'s final\nreturn at "
                        f"{t / 60:.1f} min", (t / 60, target), textcoords="offset points",
                        xytext=(8, -44 if method == "ppo_lstm" else -28), fontsize=8,
                        color=COLORS[method])
    budget = max(r[m]["meta"]["budget_seconds"] for _, r in rows for m in METHODS)
    ax.axvline(budget / 60, color="0.5", ls="--", lw=1)
    ax.annotate("budget", (budget / 60, 0), xycoords=("data", "axes fraction"),
                xytext=(-4, 4), textcoords="offset points", ha="right", fontsize=8,
                color="0.4")
    ax.set_xlabel("training wall-clock (minutes, evaluation excluded)")
    ax.set_ylabel("deterministic evaluation return")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
              frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reading(facts):
    out = []
    for task, f in facts.items():
        s, p = np.mean(f["satr"]), np.mean(f["ppo_lstm"])
        lead = "SATR" if s >= p else "PPO-LSTM"
        line = (f"- {task}: at the matched budget SATR ends at {s:.1f} and PPO-LSTM at "
                f"{p:.1f} (means over {len(f['satr'])} seed(s)); {lead} is ahead.")
        if f["ratios"]:
            r = [abs(x) for x in f["ratios"]]
            who = {x > 0 for x in f["ratios"]}
            if len(who) == 1:
                line += (f" {'SATR' if who == {True} else 'PPO-LSTM'} reaches the other's "
                         f"final return {min(r):.1f}-{max(r):.1f}x sooner than the other "
                         "stops (per seed).")
            else:
                line += " The seeds disagree on which method gets there first."
        out.append(line)
    return out


def unpaired(runs):
    """Finished runs whose counterpart (other method, same task and seed) is missing."""
    return sorted(f"{t} {SHORT[m]} seed {s}" for (t, m, s) in runs
                  if any((t, o, s) not in runs for o in METHODS))


def setup_lines(runs):
    ppo = next((r["meta"] for r in runs.values() if r["meta"]["method"] == "ppo_lstm"), {})
    satr = next((r["meta"] for r in runs.values() if r["meta"]["method"] == "satr"), {})
    mach = (ppo or satr).get("machine", {})
    v = dict(ppo.get("versions", {}), **satr.get("versions", {}))
    return [f"Machine: {mach.get('cpu', '?')}, {mach.get('cores', '?')} cores, Python "
            f"{mach.get('python', '?')}. Versions: "
            + ", ".join(f"{k} {v[k]}" for k in sorted(v)) + "."]


def cmd_summary(args):
    real = load_runs(args.results)
    real = {k: r for k, r in real.items()
            if r["meta"]["budget_seconds"] >= args.min_real_budget}
    smoke = load_runs(args.smoke) if args.smoke else {}
    img_rel = os.path.relpath(args.img, os.path.dirname(args.out))
    doc = [
        "# satrlearn against PPO-LSTM at matched wall-clock",
        "",
        "<!-- written by `python benchmarks/peer_compare.py summary`; do not edit by hand -->",
        "",
        "Users choosing between satrlearn and Stable-Baselines3 want to know which gets "
        "the higher return for the same CPU time. This page compares `SATRSearch` with "
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
            doc += ["Finished runs still waiting for the other method's run (not in the "
                    "tables): " + ", ".join(missing) + ".", ""]
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
            "but the real runs need the machine to itself for over an hour. Hopper-v5 and "
            "HalfCheetah-v5, 2 seeds each, 10 minutes per run per method is 8 runs, about "
            "80 minutes of machine time (plus a few minutes of evaluation). `run` is resumable: "
            "finished runs are skipped, so it can be spread over several sessions (a run cut "
            "short restarts from scratch). On a quiet machine, from the repository root:",
            "",
            "```",
            'pip install -e ".[bench,plot]"',
            REAL_COMMAND,
            "```",
            "",
            "Install the CPU build of torch 2.13.0 before the extra where pip would "
            "otherwise pick a CUDA build (several GB, of no use here). Add `Humanoid-v5` to "
            "`--tasks` if the budget allows (4 more runs, 40 minutes). Nothing else may run on the "
            "machine meanwhile: both methods use both cores, and PPO-LSTM's two torch "
            "threads slow down sharply when they have to share them.",
            "",
        ]
    doc += [
        "## What is measured",
        "",
        "- **Same hardware, one method at a time.** PPO-LSTM uses `torch.set_num_threads(2)`, "
        "SATR `n_jobs=-1` (both cores); the two never run together.",
        "- **Wall-clock** is training time from the construction of the model (PPO-LSTM: "
        "the environment, VecNormalize and the networks; SATR: the estimator, whose `fit` "
        "starts its worker processes), with evaluation time measured separately and "
        "subtracted; the evaluation time is reported in its own column.",
        "- **Evaluation**: every budget/20 seconds, the current policy plays 5 deterministic "
        "episodes on fixed seeds (PPO-LSTM carrying its LSTM state); the curve records "
        "(wall-clock, environment steps, mean return).",
        "- **Stopping**: each method stops when one more unit of work (a PPO rollout plus "
        "its update; a SATR generation) as long as the last one would end past the budget, "
        "then is evaluated a last time. That final evaluation is the *return at the "
        "budget*; it lies inside the budget unless the unit of work grew (a generation "
        "with longer episodes), which the *stopped at* column shows.",
        "- **Time to reach the other's final return**: the first evaluation at which one "
        "method's return is at least the other's final return.",
        "- **PPO-LSTM hyperparameters**: the RL Baselines3 Zoo's tuned recurrent-PPO "
        "values for Hopper-v3, HalfCheetah-v3 and Humanoid-v3, written out in "
        "`benchmarks/peers/ppo_lstm.py` (one environment, VecNormalize, LSTM of 256 units "
        "with 256-256 ReLU layers for actor and critic). They were tuned for a step "
        "budget of 1e6 (1e7 for Humanoid), not for wall-clock.",
        "- **SATR**: `SATRSearch` defaults (`pop=128`, `n_hidden=256`, `eta=30`); the "
        "callback evaluates `est.policy_`, the deterministic network of the generation "
        "that just finished (`search_seconds` in run.json is the generations alone).",
        "- **Size**: PPO-LSTM's parameters to act are its actor (LSTM, MLP, action head, "
        "log-std); the count in brackets adds the critic. Its file is the SB3 zip (weights "
        "of actor and critic, optimiser state) plus the VecNormalize statistics. SATR's "
        "parameters are binary connections stored at one bit each in `policy.npz` with its "
        "observation normaliser.",
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
            "proves that both "
            "runners, the CSVs, the summary and the plot work. Returns after so short a "
            "budget say nothing about which method is ahead after a real budget; do not "
            "quote these numbers as the comparison.",
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
    with open(args.out, "w") as fh:
        fh.write("\n".join(doc).rstrip() + "\n")
    print(f"wrote {args.out}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train both methods under one wall-clock budget")
    r.add_argument("--tasks", nargs="+", default=["Hopper-v5", "HalfCheetah-v5"])
    r.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    r.add_argument("--budget-seconds", type=float, required=True)
    r.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    r.add_argument("--eval-every", type=float, default=None,
                   help="seconds between evaluations (default: budget / 20)")
    r.add_argument("--eval-episodes", type=int, default=5)
    r.add_argument("--ppo-threads", type=int, default=2,
                   help="torch threads for PPO-LSTM (default 2: the machine's cores)")
    r.add_argument("--results", default=DEFAULT_RESULTS)
    r.add_argument("--models", default=os.path.join("runs", "peers"))
    s = sub.add_parser("summary", help="write docs/peers.md and the plots")
    s.add_argument("--results", default=DEFAULT_RESULTS)
    s.add_argument("--smoke", default=os.path.join(DEFAULT_RESULTS, "smoke"),
                   help="folder of pipeline-check runs, shown in a labelled section")
    s.add_argument("--min-real-budget", type=float, default=600.0)
    s.add_argument("--out", default=os.path.join("docs", "peers.md"))
    s.add_argument("--img", default=os.path.join("docs", "img"))
    args = ap.parse_args(argv)
    return cmd_run(args) if args.cmd == "run" else cmd_summary(args)


if __name__ == "__main__":
    sys.exit(main())
