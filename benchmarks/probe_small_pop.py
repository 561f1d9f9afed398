"""Where a small population's wall time goes: the same generations with and without the
deterministic network's episode, and with a floor on the chunk size, side by side in one run.

At population 16 on 2 cores a generation is short (0.6-0.9 s on the MuJoCo tasks) and SATR
steps 5-21 % fewer population env steps per second than EC at population 64 between
evaluations (``benchmarks/generation_costs.py``). Three suspects, each switched here
without changing which candidates run or what they return (every candidate is rebuilt from
its seed, so the search itself is the same in every variant):

* ``det``: the deterministic network's one episode per generation (``return_det``), a task
  of its own, 1/17 of a population-16 generation's episodes;
* ``chunks``: ``population_chunks(16, 2)`` gives 4, 3, 3, 2, 1, 1, 1, 1: four single-network
  lockstep batches, each paying the lockstep's per-step overhead alone;
* what is left: the parent's update and the workers' wait for the slowest chunk.

Variants, each timed over the same generations from the same warmed distribution, in turn,
``--repeats`` times (medians reported):

* ``library``: as the library runs today;
* ``no-det``: no deterministic episode (its return is not recorded);
* ``floor<k>``: chunks of at least ``k`` candidates (the guided split otherwise);
* ``no-det+floor<k>``.

    python benchmarks/probe_small_pop.py --envs Hopper-v5 HalfCheetah-v5 --floor 2
"""

import argparse
import contextlib
import copy
import time

import numpy as np

import satrlearn.parallel
import satrlearn.search
from satrlearn import SATRSearch


def floored_chunks(k):
    """The guided split, its small chunks joined until each has at least ``k`` candidates (a
    short last chunk joins the one before it)."""
    def split(pop, n_jobs):
        spans = _guided(pop, n_jobs)
        merged, a = [], 0
        for _, b in spans:
            if b - a >= k or b == pop:
                merged.append((a, b))
                a = b
        if merged and merged[-1][1] - merged[-1][0] < k and len(merged) > 1:
            (a0, _), (_, b1) = merged[-2], merged[-1]
            merged[-2:] = [(a0, b1)]
        return merged
    return split


_guided = satrlearn.parallel.population_chunks


@contextlib.contextmanager
def variant(no_det, floor):
    real_eval = satrlearn.search.evaluate_population
    real_chunks = satrlearn.parallel.population_chunks

    def evaluate(*args, **kwargs):
        if no_det:
            kwargs["mode_seeds"] = None
            result = real_eval(*args, **kwargs)
            result["mode_return"] = float("nan")
            return result
        return real_eval(*args, **kwargs)

    satrlearn.search.evaluate_population = evaluate
    if floor > 1:
        satrlearn.parallel.population_chunks = floored_chunks(floor)
    try:
        yield
    finally:
        satrlearn.search.evaluate_population = real_eval
        satrlearn.parallel.population_chunks = real_chunks


def timed(start, generations, no_det, floor):
    """Population env steps per second over ``generations`` generations continued from a
    copy of ``start`` (a warmed fit), with the evaluations switched off."""
    est = copy.deepcopy(start).set_params(n_generations=1, eval_every=None)
    with variant(no_det, floor):
        est.fit(est._probe_env)  # starts the workers, untimed
        steps0, wall0 = est.env_steps_, est.wall_time_
        t0 = time.perf_counter()
        est.set_params(n_generations=generations).fit(est._probe_env)
        wall = time.perf_counter() - t0
    return (est.env_steps_ - steps0) / wall, (est.wall_time_ - wall0) / generations


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", nargs="+", default=["Hopper-v5", "HalfCheetah-v5"])
    p.add_argument("--pop", type=int, default=16)
    p.add_argument("--warmup", type=int, default=150,
                   help="generations (eta=15) before the timed ones, so episodes are long")
    p.add_argument("--generations", type=int, default=30)
    p.add_argument("--floor", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    names = ["library", "no-det", f"floor{args.floor}", f"no-det+floor{args.floor}"]
    settings = [(False, 1), (True, 1), (False, args.floor), (True, args.floor)]
    print(f"population {args.pop}, 2 workers; chunks today: "
          f"{[b - a for a, b in _guided(args.pop, 2)]}, with the floor: "
          f"{[b - a for a, b in floored_chunks(args.floor)(args.pop, 2)]}")
    for env_id in args.envs:
        start = SATRSearch(pop=args.pop, n_generations=args.warmup, n_jobs=2, random_state=0,
                           eta=15, eval_every=None, warm_start=True, verbose=0).fit(env_id)
        start._probe_env = env_id
        rates = {n: [] for n in names}
        for _ in range(args.repeats):
            for name, (no_det, floor) in zip(names, settings):
                rates[name].append(timed(start, args.generations, no_det, floor))
        base = np.median([r for r, _ in rates["library"]])
        print(f"\n{env_id}: {args.generations} generations after {args.warmup}, median of "
              f"{args.repeats}")
        print(f"{'variant':<18}{'steps/s':>10}{'s/gen':>8}{'vs library':>12}")
        for name in names:
            r = np.median([x for x, _ in rates[name]])
            s = np.median([x for _, x in rates[name]])
            print(f"{name:<18}{r:>10.0f}{s:>8.3f}{r / base:>12.3f}")


if __name__ == "__main__":
    main()
