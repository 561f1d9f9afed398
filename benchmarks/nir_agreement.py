"""NIR export checked in other simulators: agreement with satrlearn and closed-loop returns.

Records one Hopper-v5 episode of a trained policy with satrlearn (spikes at every substep),
then runs the policy's NIR graph in nirtorch's interpreter and in snnTorch's importer on the
same observations (open loop) and in closed loop (the other simulator's actions drive the
environment), and writes the figures docs/neuromorphic.md quotes to
benchmarks/results/neuromorphic/nir_agreement.json.

    python benchmarks/nir_agreement.py [POLICY] [--env Hopper-v5] [--seed 0]

Needs the nir extra: pip install ".[nir]".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

from satrlearn import RSNNPolicy
from satrlearn.nir import compare_with_consumer, consumer_episode
from satrlearn.nir_consumers import consumer_versions
from satrlearn.raster import record_episode

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_POLICY = os.path.join(HERE, "results", "learning", "Hopper-v5_satr_seed0_10min",
                              "best_at_10min.npz")
OUT = os.path.join(HERE, "results", "neuromorphic", "nir_agreement.json")

# (label, variant, consumer, integration, compensate_input, dtype)
RUNS = [
    ("exact graph, nirtorch, exact integration, float64", "exact", "nirtorch", "zoh", None,
     torch.float64),
    ("euler graph, nirtorch, Euler, float64", "euler", "nirtorch", "euler", None,
     torch.float64),
    ("euler graph, nirtorch, Euler, float32", "euler", "nirtorch", "euler", None,
     torch.float32),
    ("exact graph, nirtorch, Euler with 0/1 spikes (a released importer's reading)", "exact",
     "nirtorch", "euler", None, torch.float64),
    ("snntorch graph, snnTorch import_from_nir, input held", "snntorch", "snntorch", None,
     False, None),
    ("snntorch graph, snnTorch import_from_nir, input compensated", "snntorch", "snntorch",
     None, True, None),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy", nargs="?", default=DEFAULT_POLICY)
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)  # a 2-core machine shared with other work

    policy = RSNNPolicy.load(args.policy)
    t0 = time.perf_counter()
    rec = record_episode(policy, args.env, seed=args.seed, record_v=False)
    print(f"satrlearn: true return {rec['return']:.1f} over {rec['length']} steps, "
          f"{int(rec['spikes'].sum()):,} spikes ({time.perf_counter() - t0:.1f} s); float "
          f"reference vs bitset kernel readout: max diff {rec['kernel_max_diff']:.2e}")
    clip = policy.normalizer.clip
    clipped = float(np.mean(np.abs(policy.normalizer(rec["observations"])) >= clip))
    results = []
    for label, variant, consumer, integration, comp, dtype in RUNS:
        t0 = time.perf_counter()
        cmp = compare_with_consumer(policy, rec, variant=variant, consumer=consumer,
                                    integration=integration, compensate_input=comp,
                                    dtype=dtype)
        t_open = time.perf_counter() - t0
        t0 = time.perf_counter()
        ep = consumer_episode(policy, args.env, seed=args.seed, variant=variant,
                              consumer=consumer, integration=integration,
                              compensate_input=comp, dtype=dtype)
        t_closed = time.perf_counter() - t0
        row = {"label": label, "dtype": str(dtype) if dtype else "torch.float32",
               **{k: v for k, v in cmp.items() if not isinstance(v, np.ndarray)},
               "count_mean_abs_diff": float(np.mean(np.abs(cmp["counts_consumer"]
                                                           - cmp["counts_satrlearn"]))),
               "closed_loop_return": ep["return"], "closed_loop_length": ep["length"],
               "seconds_open_loop": t_open, "seconds_closed_loop": t_closed}
        results.append(row)
        print(f"{label}: first divergence {row['first_divergence']}, spikes "
              f"{row['spikes_consumer']:,} vs {row['spikes_satrlearn']:,}, per-neuron count "
              f"diff max {row['count_max_abs_diff']} mean {row['count_mean_abs_diff']:.2f}, "
              f"action diff max {row['action_max_abs_diff']:.3g} mean "
              f"{row['action_mean_abs_diff']:.3g}; closed loop return {ep['return']:.1f} "
              f"({ep['length']} steps) vs satrlearn {rec['return']:.1f}", flush=True)
    report = {"policy": os.path.relpath(args.policy, os.path.dirname(HERE)), "env": args.env,
              "seed": args.seed, "satrlearn_return": rec["return"],
              "satrlearn_length": rec["length"], "satrlearn_spikes": int(rec["spikes"].sum()),
              "kernel_max_diff": rec["kernel_max_diff"], "observations_clipped": clipped,
              "versions": {**consumer_versions(), "python": platform.python_version()},
              "runs": results}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
