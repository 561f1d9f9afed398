"""Where a small population's wall time goes: the same generations with and without the
deterministic network's episode, and with a floor on the chunk size, side by side in one run.

At population 16 on 2 cores a generation is short (0.6-0.9 s on the MuJoCo tasks) and SATR
steps 5-21 % fewer population env steps per second than EC at population 64 between
evaluations (``benchmarks/generation_costs.py``). Two suspects, each switched here without
changing which candidates run or what they return (every candidate is rebuilt from its
seed, so the search itself is the same in every variant):

* ``det``: the deterministic network's one episode per generation (``return_det``), a task
  of its own, 1/17 of a population-16 generation's episodes;
* ``chunks``: ``population_chunks(16, 2)`` gives 4, 3, 3, 2, 1, 1, 1, 1: four single-network
  lockstep batches, each paying the lockstep's per-step overhead alone (``floor2`` in
  ``bench_fit.py``'s ``CHUNKS`` joins them into 4, 3, 3, 2, 2, 2).

Variants, each timed with ``bench_fit.fit_throughput`` over the same generations from the
same warmed distribution (``bench_fit.warmed``, evaluations off), in turn, ``--repeats``
times (medians reported): ``library``, ``no-det``, ``floor2``, ``no-det+floor2``.

    python benchmarks/probe_small_pop.py --envs Hopper-v5 HalfCheetah-v5 --repeats 2
"""

import argparse
import contextlib

import numpy as np

import satrlearn.search
from bench_fit import CHUNKS, fit_throughput, warmed


@contextlib.contextmanager
def without_det(active):
    """Run the generations without the deterministic network's episode while ``active``
    (``return_det`` is then NaN)."""
    real = satrlearn.search.evaluate_population

    def evaluate(*args, **kwargs):
        result = real(*args, **{**kwargs, "mode_seeds": None})
        result["mode_return"] = float("nan")
        return result

    if active:
        satrlearn.search.evaluate_population = evaluate
    try:
        yield
    finally:
        satrlearn.search.evaluate_population = real


VARIANTS = {"library": (False, "guided"), "no-det": (True, "guided"),
            "floor2": (False, "floor2"), "no-det+floor2": (True, "floor2")}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", nargs="+", default=["Hopper-v5", "HalfCheetah-v5"])
    p.add_argument("--pop", type=int, default=16)
    p.add_argument("--warmup", type=int, default=150,
                   help="generations (eta=15) before the timed ones, so episodes are long")
    p.add_argument("--generations", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    print(f"population {args.pop}, 2 workers; chunks today: "
          f"{[b - a for a, b in CHUNKS['guided'](args.pop, 2)]}, floor2: "
          f"{[b - a for a, b in CHUNKS['floor2'](args.pop, 2)]}")
    for env_id in args.envs:
        start = warmed(env_id, args.pop, max(args.warmup, 2)).set_params(eval_every=None)
        rates = {name: [] for name in VARIANTS}
        for _ in range(args.repeats):
            for name, (no_det, chunks) in VARIANTS.items():
                with without_det(no_det):
                    rate, steps = fit_throughput(env_id, args.pop, 2, args.generations,
                                                 start, chunks)[:2]
                rates[name].append((rate, steps / rate / args.generations))
        base = np.median([r for r, _ in rates["library"]])
        print(f"\n{env_id}: {args.generations} generations after {args.warmup}, median of "
              f"{args.repeats}")
        print(f"{'variant':<18}{'steps/s':>10}{'s/gen':>8}{'vs library':>12}")
        for name, values in rates.items():
            r, s = np.median(values, axis=0)
            print(f"{name:<18}{r:>10.0f}{s:>8.3f}{r / base:>12.3f}")


if __name__ == "__main__":
    main()
