"""Does SATR's signal energy rise above its no-information level when N / D grows?

The comparison grid found ``signal_to_noise`` (``||g||^2`` over the value a ranking without
information gives) at 1.00 in every generation, and docs/results.md argues that it cannot
exceed about ``1 + N / D``. This script tests that prediction: the same population on the
same task with networks of decreasing size, logging the ratio per generation.

    python benchmarks/snr_check.py                      # HalfCheetah-v5, pop 128
    python benchmarks/snr_check.py --env Hopper-v5 --generations 10

Prints one line per network size: connections D, N / D, and the median, mean and maximum
of ``signal_to_noise`` over the generations (the first generation left out, as rho = 0.5
there for every size), plus the final deterministic return.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default="HalfCheetah-v5")
    ap.add_argument("--pop", type=int, default=128)
    ap.add_argument("--hidden", type=int, nargs="+", default=[256, 64, 16, 4])
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-jobs", type=int, default=-1)
    args = ap.parse_args(argv)

    from satrlearn import SATRSearch

    print(f"{args.env}, SATR population {args.pop}, {args.generations} generations, "
          f"seed {args.seed}")
    print(f"{'n_hidden':>8} {'D':>8} {'N/D':>8} {'median':>8} {'mean':>8} {'max':>8} "
          f"{'final det':>10} {'seconds':>8}")
    for hidden in args.hidden:
        t0 = time.perf_counter()
        est = SATRSearch(pop=args.pop, n_generations=args.generations, n_hidden=hidden,
                         n_jobs=args.n_jobs, random_state=args.seed).fit(args.env)
        ratio = np.asarray(est.history_["signal_to_noise"][1:])
        d = est.network_config_.n_params
        print(f"{hidden:8d} {d:8d} {args.pop / d:8.4f} {np.median(ratio):8.3f} "
              f"{ratio.mean():8.3f} {ratio.max():8.3f} {est.history_['return_det'][-1]:10.1f} "
              f"{time.perf_counter() - t0:8.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
