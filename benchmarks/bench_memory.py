"""Resident memory over many small generations: does a long fit grow?

Runs ``SATRSearch`` for many generations in ``warm_start`` fits of a few generations each (as
``satrlearn train`` with checkpoints or a script with callbacks would), and prints the resident
memory of this process and of its worker processes after every fit, then the growth from the
first quarter of the run to the last. A flat total means nothing accumulates per generation
(environments, network buffers, joblib or dask bookkeeping, scattered distributions).

On dask, the scheduler (in this process) and the workers also keep bounded logs of recent
messages and events (``distributed.admin.low-level-log-length``, 1000 entries each), so their
memory rises over the first several hundred generations and then levels off; setting
``DASK_DISTRIBUTED__ADMIN__LOW_LEVEL_LOG_LENGTH=10`` shows the rest.

Memory is read with psutil when it is installed, else from ``/proc/<pid>/status`` (VmRSS);
worker processes are this process's descendants (loky workers, or the nannies and workers
of the local dask cluster with ``--backend dask``).

    python benchmarks/bench_memory.py                 # 200 generations, n_jobs 1 then 2
    python benchmarks/bench_memory.py --quick         # 40 generations
    python benchmarks/bench_memory.py --backend dask  # on a 2-worker LocalCluster (loopback)
"""

import argparse
import gc
import os
import sys
import time

import numpy as np

from satrlearn import SATRSearch

try:
    import psutil
except ImportError:  # fall back to /proc
    psutil = None

MB = 1024 * 1024


def _rss_proc(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _children_proc(pid):
    """Descendants of ``pid`` from /proc/*/stat (the parent pid is the 4th field)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            # the command name, in parentheses, may hold spaces: split after it
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found += kids
        frontier += kids
    return found


def resident():
    """(this process, its descendants) resident bytes."""
    if psutil is not None:
        me = psutil.Process()
        workers = 0
        for child in me.children(recursive=True):
            try:
                workers += child.memory_info().rss
            except psutil.Error:  # a worker that just exited
                pass
        return me.memory_info().rss, workers
    workers = 0
    for pid in _children_proc(os.getpid()):
        try:
            workers += _rss_proc(pid)
        except OSError:
            pass
    return _rss_proc(os.getpid()), workers


def run(env, generations, per_fit, pop, n_hidden, n_jobs):
    est = SATRSearch(pop=pop, n_generations=per_fit, n_hidden=n_hidden, n_jobs=n_jobs,
                     random_state=0, warm_start=True)
    rows = []
    print(f"{'gen':>6} {'this MB':>9} {'workers MB':>11} {'total MB':>9} {'return':>8}")
    est.fit(env)  # warm-up: starts the workers, loads the compiled kernels; not counted
    _report(est, *resident(), note="  (warm-up)")
    t0 = time.perf_counter()
    steps0 = est.env_steps_
    every = max(1, generations // per_fit // 20)  # about 20 lines a run
    while est.n_generations_ < per_fit + generations:
        est.fit(env)
        gc.collect()
        own, workers = resident()
        rows.append((est.n_generations_, own / MB, workers / MB))
        if len(rows) % every == 0 or est.n_generations_ >= per_fit + generations:
            _report(est, own, workers)
    wall = time.perf_counter() - t0
    rows = np.array(rows)
    q = max(1, len(rows) // 4)
    first, last = rows[:q, 1:].mean(axis=0), rows[-q:, 1:].mean(axis=0)
    span = rows[-q:, 0].mean() - rows[:q, 0].mean()
    growth = last - first
    total = growth.sum()
    print(f"growth, first quarter to last ({span:.0f} generations apart): this process "
          f"{growth[0]:+.2f} MB, workers {growth[1]:+.2f} MB, total {total:+.2f} MB "
          f"({100 * total / first.sum():+.1f} %, {100 * total / max(span, 1):+.2f} MB per 100 "
          f"generations); {est.env_steps_ - steps0} env steps in {wall:.0f} s")
    return total


def _report(est, own, workers, note=""):
    print(f"{est.n_generations_:6d} {own / MB:9.1f} {workers / MB:11.1f} "
          f"{(own + workers) / MB:9.1f} {est.history_['return_mean'][-1]:8.1f}{note}",
          flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40 generations instead of 200")
    ap.add_argument("--generations", type=int, default=None)
    ap.add_argument("--per-fit", type=int, default=5, help="generations per warm_start fit")
    ap.add_argument("--pop", type=int, default=16)
    ap.add_argument("--n-hidden", type=int, default=32)
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--n-jobs", default="1,2", help="comma-separated n_jobs values to run")
    ap.add_argument("--backend", choices=["loky", "dask"], default="loky",
                    help="dask: a LocalCluster of 2 single-thread worker processes on loopback")
    ap.add_argument("--fail-above", type=float, default=None, metavar="MB",
                    help="exit with status 1 when a run's total growth exceeds this")
    args = ap.parse_args(argv)
    generations = args.generations or (40 if args.quick else 200)
    reader = "psutil" if psutil is not None else "/proc/<pid>/status VmRSS"

    cluster = client = None
    if args.backend == "dask":
        import joblib
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        client = Client(cluster)
        jobs = [None]  # the cluster decides: one task per worker
    else:
        jobs = [int(j) for j in args.n_jobs.split(",")]
    worst = 0.0
    try:
        for n_jobs in jobs:
            print(f"\n{args.env}, SATRSearch pop {args.pop}, n_hidden {args.n_hidden}, "
                  f"{generations} generations in fits of {args.per_fit}, backend "
                  f"{args.backend}, n_jobs {n_jobs}; resident memory from {reader}")
            if args.backend == "dask":
                with joblib.parallel_config(backend="dask"):
                    total = run(args.env, generations, args.per_fit, args.pop, args.n_hidden,
                                n_jobs)
            else:
                total = run(args.env, generations, args.per_fit, args.pop, args.n_hidden,
                            n_jobs)
            worst = max(worst, total)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    if args.fail_above is not None and worst > args.fail_above:
        print(f"FAIL: memory grew by {worst:.1f} MB, more than {args.fail_above} MB")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
