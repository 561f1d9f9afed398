"""Fit throughput against a raw random-action loop, side by side in one run.

For each task: env steps per second of

* raw: ``n_jobs`` processes, each stepping ``pop / n_jobs`` environments with random actions
  and nothing else, resetting every ``L`` steps where ``L`` is the mean episode length of the
  fit run (random actions end MuJoCo episodes within ~20 steps, so resetting on termination
  would make the raw loop mostly resets);
* fit: ``SATRSearch(pop, n_jobs, eta=15)`` for a few generations, counting everything (sampling,
  lockstep rollouts with the bitset kernel, ranking, update, normaliser merge and the
  deterministic network's episode), steps/s = population env steps / wall time.

Prints fit/raw ratios (target >= 0.90) and fit n_jobs=2 / n_jobs=1 (target >= 1.85), and the
workers' utilisation: the summed duration of the generation's tasks (``busy_seconds``) over
``n_jobs`` x the generations' wall time. Below 1 is time a worker sat idle: waiting for the
parent's update, or for the other worker's last chunk.

``in sim`` (1 worker only, where the fit steps its envs in this process) is the share of the
fit's wall time spent inside ``env.step``: the part no library change can remove. The raw loop
steps random actions; the simulator's own cost depends on the states it visits (contacts), so
on tasks like Humanoid-v5 an env step under a trained policy can cost more than under random
actions, and ``in sim`` is then the better measure of what the fit adds.

``--chunks even guided`` runs the fit once per way of splitting a generation, side by side:
``guided`` is the library's (:func:`satrlearn.parallel.population_chunks`, shrinking chunks),
``even`` the earlier split into ``2 n_jobs`` equal chunks, ``floor2`` the guided split with
no chunk under 2 candidates.

    python benchmarks/bench_fit.py            # Hopper, Walker2d, HalfCheetah, Humanoid, pop 128
    python benchmarks/bench_fit.py --envs Hopper-v5 --warmup 25   # later, longer episodes
    python benchmarks/bench_fit.py --quick    # fewer generations
    python benchmarks/bench_fit.py --repeats 3   # medians of 3: steadier on a noisy machine
    python benchmarks/bench_fit.py --chunks even guided --envs Hopper-v5 Walker2d-v5
"""

import argparse
import contextlib
import copy
import time

import gymnasium as gym
import numpy as np
from joblib import Parallel, delayed

import satrlearn.parallel
import satrlearn.search
from satrlearn import SATRSearch
from satrlearn.rollout import make_env


def _raw_worker(env_id, n_envs, n_steps, seed, episode_len):
    # MuJoCo's warnings as Python warnings, as the fit's: once per process, not per env
    envs = [make_env(env_id, disable_env_checker=True) for _ in range(n_envs)]
    for i, e in enumerate(envs):
        e.reset(seed=seed + i)
        e.action_space.seed(seed + i)
    done_steps = 0
    t = 0
    t0 = time.perf_counter()
    while done_steps < n_steps:
        t += 1
        for e in envs:
            e.step(e.action_space.sample())
            done_steps += 1
            if t % episode_len == 0:
                e.reset()
    elapsed = time.perf_counter() - t0
    for e in envs:
        e.close()
    return done_steps, elapsed


def raw_throughput(env_id, pop, n_jobs, steps_per_job, episode_len):
    with Parallel(n_jobs=n_jobs) as par:
        par(delayed(_raw_worker)(env_id, 1, 10, 0, 5) for _ in range(n_jobs))  # warm the pool
        t0 = time.perf_counter()
        out = par(delayed(_raw_worker)(env_id, pop // n_jobs, steps_per_job, 100 * j,
                                       episode_len) for j in range(n_jobs))
        wall = time.perf_counter() - t0
    return sum(s for s, _ in out) / wall


def even_chunks(pop, n_jobs):
    """The earlier split: ``2 n_jobs`` chunks of equal size."""
    bounds = np.linspace(0, pop, min(1 if n_jobs <= 1 else 2 * n_jobs, pop) + 1).astype(int)
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


#: the library's split, kept here: the benchmark swaps the module's function for another
GUIDED = satrlearn.parallel.population_chunks


def floor2_chunks(pop, n_jobs):
    """The guided split with its small chunks joined until each has at least 2 candidates
    (a short last chunk joins the one before it): population 16 over 2 workers gets
    4, 3, 3, 2, 2, 2 instead of 4, 3, 3, 2, 1, 1, 1, 1."""
    merged, a = [], 0
    for _, b in GUIDED(pop, n_jobs):
        if b - a >= 2 or b == pop:
            merged.append((a, b))
            a = b
    if len(merged) > 1 and merged[-1][1] - merged[-1][0] < 2:
        merged[-2:] = [(merged[-2][0], merged[-1][1])]
    return merged


CHUNKS = {"guided": GUIDED, "even": even_chunks,
          "floor2": floor2_chunks}


@contextlib.contextmanager
def in_simulator(active):
    """Add up the seconds spent inside ``env.step`` (the whole Gymnasium stack, entered through
    its outermost ``TimeLimit``) while ``active``: with ``n_jobs=1`` the fit steps its envs in
    this process, so patching the class here sees every step."""
    seconds = [0.0]
    real = gym.wrappers.TimeLimit.step

    def timed(self, action):
        t0 = time.perf_counter()
        try:
            return real(self, action)
        finally:
            seconds[0] += time.perf_counter() - t0

    if active:
        gym.wrappers.TimeLimit.step = timed
    try:
        yield seconds
    finally:
        gym.wrappers.TimeLimit.step = real


@contextlib.contextmanager
def measured(chunks):
    """Split the generations with ``CHUNKS[chunks]`` and add up the tasks' busy seconds.

    Both are the parent's business (it splits the population and receives the results), so
    patching the parent's module is enough.
    """
    busy = [0.0]
    real = satrlearn.search.evaluate_population

    def counting(*args, **kwargs):
        result = real(*args, **kwargs)
        busy[0] += result["busy_seconds"]
        return result

    saved = satrlearn.parallel.population_chunks
    satrlearn.parallel.population_chunks = CHUNKS[chunks]
    satrlearn.search.evaluate_population = counting
    try:
        yield busy
    finally:
        satrlearn.parallel.population_chunks = saved
        satrlearn.search.evaluate_population = real


def warmed(env_id, pop, warmup):
    """A fit after ``warmup`` generations, made once per task and copied for every timed
    measurement (the search is the same for any ``n_jobs``, so one warm-up serves both)."""
    if warmup <= 1:
        return None
    # eta=15: a step that does not depend on the benchmark's few generations (with
    # eta="budget" a short warm-up would saturate the distribution at once)
    return SATRSearch(pop=pop, n_generations=warmup - 1, n_jobs=2, random_state=0, eta=15,
                      warm_start=True).fit(env_id)


def fit_throughput(env_id, pop, n_jobs, generations, start=None, chunks="guided"):
    """Steps/s of the timed generations, their steps, mean episode length, the workers'
    utilisation (busy seconds / (n_jobs x wall seconds)) and, with ``n_jobs=1``, the share of
    the wall time spent inside ``env.step`` (NaN with more workers).

    ``start`` is a warmed fit to continue (a copy of it), or None to start from scratch; one
    untimed generation always comes first, to compile the kernels and start the workers."""
    with measured(chunks) as busy:
        if start is None:
            est = SATRSearch(pop=pop, n_generations=1, n_jobs=n_jobs, random_state=0,
                             eta=15, warm_start=True)
        else:
            est = copy.deepcopy(start).set_params(n_jobs=n_jobs, n_generations=1)
        est.fit(env_id)  # compiles kernels, starts workers
        steps0, wall0, busy0 = est.env_steps_, est.wall_time_, busy[0]
        with in_simulator(n_jobs == 1) as sim:
            est.set_params(n_generations=generations).fit(env_id)  # more, with warm_start
    steps = est.env_steps_ - steps0
    wall = est.wall_time_ - wall0
    episodes = sum(est.history_["episodes"][-generations:])
    return (steps / wall, steps, max(1, round(steps / episodes)),
            (busy[0] - busy0) / (n_jobs * wall),
            sim[0] / wall if n_jobs == 1 and sim[0] > 0 else float("nan"))


def _share(x):
    return f"{'-':>6}" if np.isnan(x) else f"{x:>6.2f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", nargs="+",
                   default=["Hopper-v5", "Walker2d-v5", "HalfCheetah-v5", "Humanoid-v5"])
    p.add_argument("--warmup", type=int, default=1,
                   help="generations before the timed ones (more: later, longer episodes)")
    p.add_argument("--pop", type=int, default=128)
    p.add_argument("--generations", type=int, default=4)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeats", type=int, default=1,
                   help="measure fit and raw this many times each, alternately, and print "
                        "the medians (fit/raw: the median of the pairs' ratios)")
    p.add_argument("--chunks", nargs="+", choices=list(CHUNKS), default=["guided"],
                   help="ways to split a generation over the workers, measured side by side")
    args = p.parse_args(argv)
    gens = 2 if args.quick else args.generations
    print(f"pop {args.pop}, {gens} timed generations after {args.warmup} warm-up"
          + (f", medians of {args.repeats} alternating measurements" if args.repeats > 1
             else ""))
    print(f"{'task':<14} {'chunks':>6} {'jobs':>4} {'raw steps/s':>12} {'fit steps/s':>12} "
          f"{'fit/raw':>8} {'busy':>5} {'in sim':>6} {'steps':>8} {'ep.len':>6}")
    for env_id in args.envs:
        start = warmed(env_id, args.pop, args.warmup)
        for chunks in args.chunks:
            fit, raw = {}, {}
            for n_jobs in (1, 2):
                # fit and raw alternate, so that a drift in the machine's speed hits both;
                # with --repeats the medians are printed
                fs, rs, utils, sims = [], [], [], []
                for _ in range(args.repeats):
                    f, steps, ep_len, util, sim = fit_throughput(env_id, args.pop, n_jobs, gens,
                                                            start, chunks)
                    rs.append(raw_throughput(env_id, args.pop, n_jobs,
                                             max(steps // n_jobs, 2000), ep_len))
                    fs.append(f)
                    utils.append(util)
                    sims.append(sim)
                f, r = float(np.median(fs)), float(np.median(rs))
                ratio = float(np.median(np.divide(fs, rs)))
                fit[n_jobs], raw[n_jobs] = f, r
                print(f"{env_id:<14} {chunks:>6} {n_jobs:>4} {r:>12.0f} {f:>12.0f} "
                      f"{ratio:>8.2f} {np.median(utils):>5.2f} {_share(np.median(sims))} "
                      f"{steps:>8d} {ep_len:>6d}",
                      flush=True)
            print(f"{env_id:<14} {chunks:>6} fit n_jobs 2 / 1 = {fit[2] / fit[1]:.2f} "
                  f"(raw loop: {raw[2] / raw[1]:.2f})")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
