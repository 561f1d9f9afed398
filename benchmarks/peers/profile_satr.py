"""Profile one SATRSearch generation in-process: where does a generation's time go?

    python benchmarks/peers/profile_satr.py --env Hopper-v5 --warmup 5 --pop 128

Runs ``--warmup`` generations (so the episodes have grown past the first falls), then one
more under cProfile with ``n_jobs=1`` so every call is visible, and prints the generation's
time split into the environment (``env.step`` / ``env.reset``, MuJoCo and its wrappers),
the spiking network (``NetworkBatch.step``, the Numba kernels), and the rest (sampling the
population, normalisation, the update), followed by the top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default="Hopper-v5")
    ap.add_argument("--pop", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)

    from satrlearn import SATRSearch

    est = SATRSearch(pop=args.pop, n_generations=args.warmup, n_jobs=1,
                     random_state=args.seed, warm_start=True)
    est.fit(args.env)
    steps0 = est.env_steps_
    est.set_params(n_generations=1)
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    est.fit(args.env)
    prof.disable()
    total = time.perf_counter() - t
    steps = est.env_steps_ - steps0

    stats = pstats.Stats(prof).stats

    def cumulative(name, where):
        # the outermost wrapper's cumulative time covers the wrappers beneath it
        return max((cum for (f, _, n), (_, _, _, cum, _) in stats.items()
                    if n == name and where(f)), default=0.0)

    env_time = (cumulative("step", lambda f: "gymnasium" in f)
                + cumulative("reset", lambda f: "gymnasium" in f))
    net_time = cumulative("step", lambda f: f.endswith("satrlearn/policy.py"))
    print(f"{args.env}, pop {args.pop}, generation {est.n_generations_}: {steps} env steps "
          f"in {total:.2f} s under the profiler ({steps / total:,.0f} steps/s)")
    for label, value in (("environment (step + reset)", env_time),
                         ("spiking network (NetworkBatch.step)", net_time),
                         ("rest (sampling, normalisation, update, bookkeeping)",
                          total - env_time - net_time)):
        print(f"  {label:52s} {value:7.2f} s  {100 * value / total:5.1f} %")
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
