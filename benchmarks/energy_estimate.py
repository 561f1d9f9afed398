"""Energy estimates of trained policies: per step, per episode, and for their training.

Counts the operations of the trained Hopper-v5 policy and of the short Humanoid-v5 policy
over a few fresh episodes (satrlearn.energy.energy_report), turns them into joules with the
published energies per operation, and estimates the event energy of the fits that produced
them from their histories (env steps), next to the fits' measured CPU time. Writes
benchmarks/results/neuromorphic/energy.json, which docs/neuromorphic.md quotes.

    python benchmarks/energy_estimate.py [--episodes 5]
"""

from __future__ import annotations

import argparse
import json
import os

from satrlearn import RSNNPolicy
from satrlearn.cli import read_history
from satrlearn.energy import energy_report, format_energy, training_energy

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
CASES = [
    # (task, policy, history of the fit, worker processes of the fit)
    ("Hopper-v5",
     os.path.join(RESULTS, "learning", "Hopper-v5_satr_seed0_10min", "best_at_10min.npz"),
     os.path.join(RESULTS, "learning", "Hopper-v5_satr_seed0_10min.csv"), 2),
    ("Humanoid-v5",
     os.path.join(RESULTS, "neuromorphic", "Humanoid-v5_satr_pop32_seed0_300s.npz"),
     os.path.join(RESULTS, "neuromorphic", "humanoid_history.csv"), 1),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=10_000)
    parser.add_argument("--out", default=os.path.join(RESULTS, "neuromorphic", "energy.json"))
    args = parser.parse_args()
    out = {}
    for task, policy_path, history_path, workers in CASES:
        policy = RSNNPolicy.load(policy_path)
        report = energy_report(policy, task, n_episodes=args.episodes, seed=args.seed)
        print(task)
        for line in format_energy(report):
            print(line)
        train = training_energy(read_history(history_path), report["per_step"],
                                n_workers=workers)
        print(f"  training: {train['env_steps']:,.0f} env steps, "
              f"{train['loihi_total']:.3g} J on Loihi (estimate), "
              f"{train['dense_rsnn']:.3g} J as dense float MACs, measured "
              f"{train['cpu_seconds']:.0f} CPU-seconds ({train['wall_time']:.0f} s x "
              f"{workers} workers)")
        out[task] = {"policy": os.path.relpath(policy_path, os.path.dirname(HERE)),
                     "episodes": args.episodes, "seed": args.seed,
                     "mean_return": report["mean_return"],
                     "returns": [ep["return"] for ep in report["episodes"]],
                     "network": report["network"], "per_step": report["per_step"],
                     "per_episode": report["per_episode"], "costs": report["costs"],
                     "training": {**train, "history": os.path.relpath(
                         history_path, os.path.dirname(HERE)), "workers": workers}}
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
