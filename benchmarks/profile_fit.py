"""Where a fit's time goes, per process, from a sampling profiler that sees every process.

Runs ``SATRSearch(pop, n_jobs)`` for one generation (start-up: workers, kernels, envs), then
attaches ``py-spy record --subprocesses --idle`` (wall-clock samples of every thread of the
parent and of the loky workers) for the next generations, and splits the samples of the
threads that do the work:

* **workers** (the main thread of each loky worker; with ``n_jobs=1`` the parent itself while
  it runs a chunk): env step or reset (everything under ``env.step``/``env.reset``: MuJoCo
  and Gymnasium's Python), network step (the Numba kernel), observation normalisation and
  action mapping, sampling and packing of candidates, the rest of the lockstep loop, transfer
  (pickling and unpickling of tasks and results) and idle (waiting for a task: the parent is
  updating, or the other worker is finishing its last chunk);
* **parent** (its main thread): the update of the distribution, the rest of the generation's
  bookkeeping, waiting for the workers (with ``n_jobs=1``: running the chunks itself), and
  anything else ("other").

    pip install py-spy
    python benchmarks/profile_fit.py                        # four tasks, n_jobs 1 and 2
    python benchmarks/profile_fit.py --tasks Hopper-v5 --n-jobs 2 --generations 4
    python benchmarks/profile_fit.py --docs docs/benchmarks.md   # also write the table there

Numbers are shares of wall-clock samples, so they do not depend on the machine's speed, but
a busy machine shifts time into "idle" and "waiting"; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile

from run_records import replace_between_markers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
START, END = "<!-- profile_fit:start -->", "<!-- profile_fit:end -->"
TASKS = ("Hopper-v5", "Walker2d-v5", "HalfCheetah-v5", "Humanoid-v5")

FIT = """
import sys, time
from satrlearn import SATRSearch
task, pop, n_jobs, gens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# eta=15: with eta="budget" the 1-generation start-up fit would saturate the distribution
est = SATRSearch(pop=pop, n_generations=1, n_jobs=n_jobs, random_state=0, eval_every=None,
                 eta=15, warm_start=True)
est.fit(task)  # workers started, kernels loaded, envs built: not profiled
print("READY", flush=True)
time.sleep(1.0)  # the profiler attaches
est.set_params(n_generations=gens)
t0 = time.perf_counter()
steps0 = est.env_steps_
est.fit(task)
print("FIT_RESULT", est.env_steps_ - steps0, time.perf_counter() - t0, flush=True)
"""

#: Worker categories, first match wins; each is (name, substrings of a frame).
WORKER_CATEGORIES = (
    ("env", ("_env_call (satrlearn/rollout.py",)),
    ("network", ("NetworkBatch.step (", "NetworkBatch._step (")),
    ("obs+action", ("ObservationNormalizer.__call__", "ActionMap.__call__",
                    "lockstep_inputs (", "box_actions (")),
    ("sample+pack", ("sample (satrlearn/strategies", "NetworkBatch.__init__ (",
                     "pack_samples (satrlearn", "NetworkBatch.reset (")),
    ("loop", ("run_episodes (satrlearn/rollout.py",)),
    ("transfer", ("loads", "dumps", "_send", "send_bytes", "_feed")),
)
WORKER_COLUMNS = [name for name, _ in WORKER_CATEGORIES] + ["idle"]
PARENT_COLUMNS = ["update", "bookkeeping", "waiting", "other"]


def categorize(frames, categories):
    for name, needles in categories:
        if any(needle in f for f in frames for needle in needles):
            return name
    return None


def split_samples(raw_path, n_jobs):
    """Worker and parent shares (fractions of each one's samples) from py-spy's raw output."""
    workers = collections.Counter()
    parent = collections.Counter()
    with open(raw_path) as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            frames = stack.split(";")
            count = int(count)
            is_worker = any("LokyProcess" in f for f in frames if f.startswith("process "))
            if is_worker:
                if not any("_process_worker" in f for f in frames):
                    continue  # loky's helper threads, always waiting
                workers[categorize(frames, WORKER_CATEGORIES) or "idle"] += count
                continue
            if (sum(f.startswith("process ") for f in frames) > 1
                    or not any("<module> (profiled_fit.py" in f for f in frames)):
                continue  # helper processes and threads (resource trackers, loky's queues)
            if frames[-1].startswith("<module> (profiled_fit.py") or "sleep" in frames[-1]:
                continue  # waiting for the profiler to attach, or the last line
            if n_jobs == 1 and any("evaluate_chunk" in f or "_network_chunk" in f
                                   for f in frames):
                workers[categorize(frames, WORKER_CATEGORIES) or "loop"] += count
                parent["waiting"] += count  # in-process, the parent runs the chunks itself
                continue
            if any("update (satrlearn/strategies" in f for f in frames):
                parent["update"] += count
            elif any("_generation_body" in f for f in frames):
                waiting = any(("joblib/parallel.py" in f and ("retrieve" in f or "wait" in f))
                              or "_retrieve" in f for f in frames)
                parent["waiting" if waiting else "bookkeeping"] += count
            else:
                parent["other"] += count

    def shares(counter, columns):
        total = sum(counter.values()) or 1
        return {c: 100.0 * counter[c] / total for c in columns}
    return shares(workers, WORKER_COLUMNS), shares(parent, PARENT_COLUMNS)


def profile_one(task, pop, n_jobs, generations, rate):
    """Run one profiled fit; returns (steps/s, worker shares, parent shares)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "profile.txt")
        script = os.path.join(tmp, "profiled_fit.py")
        with open(script, "w") as fh:
            fh.write(FIT)
        fit = subprocess.Popen([sys.executable, script, task, str(pop), str(n_jobs),
                                str(generations)], stdout=subprocess.PIPE, text=True)
        for line in fit.stdout:
            if line.startswith("READY"):
                break
        spy = subprocess.Popen(
            ["py-spy", "record", "--pid", str(fit.pid), "--subprocesses", "--idle", "--rate",
             str(rate), "--format", "raw", "--output", raw],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result = [line for line in fit.stdout if line.startswith("FIT_RESULT")]
        if fit.wait() != 0 or not result:
            raise RuntimeError(f"the profiled fit of {task} failed")
        spy.wait(timeout=60)
        steps, seconds = (float(x) for x in result[-1].split()[1:])
        workers, parent = split_samples(raw, n_jobs)
    return steps / seconds, workers, parent


def table(rows):
    head = ("| task | n_jobs | steps/s | " + " | ".join(WORKER_COLUMNS) + " | parent: "
            + " | ".join(PARENT_COLUMNS) + " |")
    lines = [head, "|" + "---|" * (3 + len(WORKER_COLUMNS) + len(PARENT_COLUMNS))]
    for task, n_jobs, rate, workers, parent in rows:
        lines.append(f"| {task} | {n_jobs} | {rate:,.0f} | "
                     + " | ".join(f"{workers[c]:.1f}" for c in WORKER_COLUMNS) + " | "
                     + " | ".join(f"{parent[c]:.1f}" for c in PARENT_COLUMNS) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--n-jobs", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--pop", type=int, default=128)
    parser.add_argument("--generations", type=int, default=6,
                        help="generations profiled, after one unprofiled")
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--docs", default=None,
                        help=f"write the table between the markers of this page (e.g. {DOC})")
    args = parser.parse_args(argv)
    if shutil.which("py-spy") is None:
        parser.error("py-spy is not installed: pip install py-spy")
    rows = []
    for task in args.tasks:
        for n_jobs in args.n_jobs:
            rate, workers, parent = profile_one(task, args.pop, n_jobs, args.generations,
                                                args.rate)
            rows.append((task, n_jobs, rate, workers, parent))
            print(f"{task} n_jobs={n_jobs}: {rate:,.0f} steps/s  workers "
                  + "  ".join(f"{c} {workers[c]:.1f}%" for c in WORKER_COLUMNS)
                  + "  | parent " + "  ".join(f"{c} {parent[c]:.1f}%" for c in PARENT_COLUMNS),
                  flush=True)
    text = (f"*`python benchmarks/profile_fit.py` (pop {args.pop}, {args.generations} "
            "generations after the first, py-spy wall-clock samples; workers: shares of the "
            "worker main threads' samples, parent: of the parent's).* \n\n" + table(rows) + "\n")
    print(text)
    if args.docs:
        replace_between_markers(args.docs, START, END, text, title="# Benchmarks")
        print(f"written to {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
