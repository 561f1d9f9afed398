"""Shared pieces of the peer-comparison runners: the wall-clock logger and the run record.

The runners (``satr_run.py``, ``ppo.py`` and ``ppo_lstm.py``) measure the same things the
same way:

- ``train_clock``: seconds since training started, minus the time spent in evaluations
  (evaluations are timed separately and reported in their own column);
- every ``eval_every`` seconds of ``train_clock`` a deterministic evaluation of the current
  policy (``eval_episodes`` episodes on fixed seeds) appended to ``curve.csv``
  (``CURVE_COLUMNS``, plus any extra columns a runner logs, e.g. SATR's ``mode_return``);
- at the budget: one last evaluation, the final model saved, then its size and the median
  time of one single-observation deterministic action (over ``INFERENCE_CALLS`` calls, the
  recurrent state carried between calls) written to ``run.json``.

A run is finished when its ``run.json`` exists; ``curve.csv`` is rewritten atomically after
every evaluation.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import time

CURVE_COLUMNS = ("wall_clock", "env_steps", "eval_return", "eval_std", "eval_seconds",
                 "search_seconds")
INFERENCE_CALLS = 1000
EVAL_SEED = 1_000_003  # evaluation episodes use seeds EVAL_SEED + i, for every method


def write_atomic(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class WallClockLog:
    """Wall-clock bookkeeping with evaluation time subtracted, and the curve CSV.

    ``extra_columns`` are written after ``CURVE_COLUMNS``; ``evaluate_fn`` fills them by
    returning a dict as a third item.
    """

    def __init__(self, path, budget, eval_every, extra_columns=()):
        self.path = path
        self.columns = tuple(CURVE_COLUMNS) + tuple(extra_columns)
        self.budget = float(budget)
        self.eval_every = float(eval_every)
        self.rows = []
        self.eval_total = 0.0
        self.t0 = None
        self.next_eval = 0.0

    def start(self):
        self.t0 = time.perf_counter()
        self.eval_total = 0.0

    def train_clock(self) -> float:
        return time.perf_counter() - self.t0 - self.eval_total

    def eval_due(self) -> bool:
        return self.train_clock() >= self.next_eval

    def over_budget(self) -> bool:
        return self.train_clock() >= self.budget

    def evaluate(self, env_steps, evaluate_fn, search_seconds=""):
        """Run ``evaluate_fn() -> (mean, std[, extra columns])`` off the clock, append a row."""
        clock = self.train_clock()
        t = time.perf_counter()
        mean, std, *extra = evaluate_fn()
        spent = time.perf_counter() - t
        self.eval_total += spent
        self.rows.append({"wall_clock": round(clock, 3), "env_steps": int(env_steps),
                          "eval_return": float(mean), "eval_std": float(std),
                          "eval_seconds": round(spent, 3),
                          "search_seconds": search_seconds if search_seconds == "" else
                          round(float(search_seconds), 3)})
        if extra:
            self.rows[-1].update(extra[0])
        while self.next_eval <= clock:
            self.next_eval += self.eval_every
        self.flush()
        return mean

    def flush(self):
        lines = [",".join(self.columns)]
        for row in self.rows:
            lines.append(",".join(str(row.get(c, "")) for c in self.columns))
        write_atomic(self.path, "\n".join(lines) + "\n")


def inference_us(env_id, act, n=INFERENCE_CALLS, seed=EVAL_SEED):
    """Median and 90th-percentile microseconds of one ``act(obs, new_episode)`` call.

    The policy drives the environment for ``n`` steps (episodes restart when they end);
    only the policy call is inside the timer, the environment step is not. ``act`` must
    carry its recurrent state between calls and reset it when ``new_episode`` is true.
    """
    import gymnasium as gym
    import numpy as np

    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    new, times = True, []
    for _ in range(n):
        t = time.perf_counter()
        action = act(obs, new)
        times.append(time.perf_counter() - t)
        obs, _, terminated, truncated, _ = env.step(action)
        new = terminated or truncated
        if new:
            obs, _ = env.reset()
    env.close()
    times = np.asarray(times) * 1e6
    return float(np.median(times)), float(np.percentile(times, 90))


def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def code_commit() -> str:
    """The commit the code ran from (with ``+dirty`` for uncommitted changes), or ''."""
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+dirty" if dirty else "") if head else ""


def runner_parser(doc: str):
    """The command-line options the runners share; each adds its own."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--env", default="Hopper-v5")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget-seconds", type=float, required=True)
    ap.add_argument("--eval-every", type=float, default=None,
                    help="seconds of training between evaluations (default: budget / 20)")
    ap.add_argument("--eval-episodes", type=int, default=5)
    ap.add_argument("--out", required=True, help="folder for curve.csv and run.json")
    ap.add_argument("--models", default="runs/peers", help="folder for the saved model")
    return ap


def write_run_json(path, record):
    write_atomic(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def print_final(method, args, final, **extra):
    """The one JSON line a runner prints at its end, read by peer_compare.py."""
    print(json.dumps({"method": method, "env": args.env, "seed": args.seed,
                      "final_return": final["eval_return"],
                      "wall_clock": final["wall_clock"], "env_steps": final["env_steps"],
                      **extra}))


def read_curve(path):
    with open(path, newline="") as fh:
        return [{k: (float(v) if v != "" else None) for k, v in row.items()}
                for row in csv.DictReader(fh)]
