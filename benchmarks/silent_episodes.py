"""How often does a trained policy fall silent? Per-episode returns and mean |action|.

A spiking network can settle in a state without spikes: its action is then 0, a body at rest
sends inputs that do not wake it again, and the episode earns about nothing. This script runs
a saved policy on fresh episodes and prints, per episode, the true return and the mean
absolute action over the whole episode, its first 50 and its last 50 steps (0 there means
the network was silent at the end), then the same env seed with several membrane seeds, to
tell whether the environment's start or the network's initial state decides.

    python benchmarks/silent_episodes.py runs/<run>/best_policy.npz --env HalfCheetah-v5
    python benchmarks/silent_episodes.py POLICY --env HalfCheetah-v5 --episodes 32 --probe-seed 3
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

from satrlearn import RSNNPolicy


def run(policy, env, env_seed, membrane_seed):
    """True return and per-step mean |action| of one episode."""
    obs, _ = env.reset(seed=env_seed)
    policy.reset(seed=membrane_seed)
    total, actions, done = 0.0, [], False
    while not done:
        action = policy(obs)
        actions.append(float(np.mean(np.abs(action))))
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        done = terminated or truncated
    return total, np.asarray(actions)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy", help="a policy.npz file")
    parser.add_argument("--env", required=True, help="Gymnasium id")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--probe-seed", type=int, default=None,
                        help="an env seed to replay with 6 membrane seeds (default: the first "
                             "episode that ended silent)")
    args = parser.parse_args(argv)

    policy = RSNNPolicy.load(args.policy)
    env = gym.make(args.env)
    returns, silent = [], []
    print(f"{'env seed':>8} {'return':>9} {'mean|a|':>8} {'first 50':>9} {'last 50':>8}")
    for seed in range(args.episodes):
        total, acts = run(policy, env, seed, 1000 + seed)
        returns.append(total)
        if acts[-50:].mean() < 1e-3:
            silent.append(seed)
        print(f"{seed:>8} {total:>9.1f} {acts.mean():>8.3f} {acts[:50].mean():>9.3f} "
              f"{acts[-50:].mean():>8.3f}")
    print(f"silent at the end: {len(silent)} of {args.episodes} episodes {silent}; returns "
          f"mean {np.mean(returns):.1f}, median {np.median(returns):.1f}")
    probe = args.probe_seed if args.probe_seed is not None else (silent[0] if silent else None)
    if probe is not None:
        for membrane in range(6):
            total, acts = run(policy, env, probe, membrane)
            print(f"env seed {probe}, membrane seed {membrane}: return {total:.1f}, last 50 "
                  f"mean|a| {acts[-50:].mean():.3f}")
    env.close()


if __name__ == "__main__":
    main()
