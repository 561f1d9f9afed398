"""How often does a trained policy fall silent or flip over? Per-episode returns, mean |action|.

A spiking network can settle in a state without spikes: its action is then 0, a body at rest
sends inputs that do not wake it again, and the episode earns about nothing. This script runs
a saved policy on fresh episodes and prints, per episode, the true return and the mean
absolute action over the whole episode, its first 50 and its last 50 steps (0 there means
the network was silent at the end), then the same env seed with several membrane seeds, to
tell whether the environment's start or the network's initial state decides.

``--pitch-index i`` also follows ``qpos[i]`` of a MuJoCo env (2 for the torso's pitch on
HalfCheetah-v5, Hopper-v5 and Walker2d-v5) and prints its largest absolute value and the first
step where it passed 90 degrees: a cheetah past that has flipped onto its back.

    python benchmarks/silent_episodes.py runs/<run>/best_policy.npz --env HalfCheetah-v5
    python benchmarks/silent_episodes.py POLICY --env HalfCheetah-v5 --episodes 32 --probe-seed 3
    python benchmarks/silent_episodes.py POLICY --env HalfCheetah-v5 --episodes 10 \
        --first-seed 10000 --pitch-index 2
"""

from __future__ import annotations

import argparse

import numpy as np

from satrlearn import RSNNPolicy
from satrlearn.rollout import make_env


def run(policy, env, env_seed, membrane_seed, pitch_index=None):
    """True return, per-step mean |action| and (with ``pitch_index``) per-step
    ``qpos[pitch_index]`` of one episode."""
    obs, _ = env.reset(seed=env_seed)
    policy.reset(seed=membrane_seed)
    total, actions, pitch, done = 0.0, [], [], False
    while not done:
        action = policy(obs)
        actions.append(float(np.mean(np.abs(action))))
        obs, reward, terminated, truncated, _ = env.step(action)
        if pitch_index is not None:
            pitch.append(float(env.unwrapped.data.qpos[pitch_index]))
        total += float(reward)
        done = terminated or truncated
    return total, np.asarray(actions), np.asarray(pitch)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy", help="a policy.npz file")
    parser.add_argument("--env", required=True, help="Gymnasium id")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="env seed of the first episode (membrane seeds: 1000 above)")
    parser.add_argument("--pitch-index", type=int, default=None,
                        help="qpos index of the torso's pitch (2 on HalfCheetah, Hopper, "
                             "Walker2d): report flips past 90 degrees")
    parser.add_argument("--probe-seed", type=int, default=None,
                        help="an env seed to replay with 6 membrane seeds (default: the first "
                             "episode that ended silent)")
    args = parser.parse_args(argv)

    policy = RSNNPolicy.load(args.policy)
    env = make_env(args.env)
    pitched = args.pitch_index is not None
    returns, silent, flipped = [], [], []
    print(f"{'env seed':>8} {'return':>9} {'mean|a|':>8} {'first 50':>9} {'last 50':>8}"
          + (f" {'max|pitch|':>10} {'flip at':>7}" if pitched else ""))
    for seed in range(args.first_seed, args.first_seed + args.episodes):
        total, acts, pitch = run(policy, env, seed, 1000 + seed, args.pitch_index)
        returns.append(total)
        if acts[-50:].mean() < 1e-3:
            silent.append(seed)
        line = (f"{seed:>8} {total:>9.1f} {acts.mean():>8.3f} {acts[:50].mean():>9.3f} "
                f"{acts[-50:].mean():>8.3f}")
        if pitched:
            over = np.flatnonzero(np.abs(pitch) > np.pi / 2)
            if over.size:
                flipped.append(seed)
            line += (f" {np.abs(pitch).max():>10.2f} "
                     f"{(str(over[0] + 1) if over.size else '-'):>7}")
        print(line)
    print(f"silent at the end: {len(silent)} of {args.episodes} episodes {silent}; "
          + (f"flipped: {len(flipped)} {flipped}; " if pitched else "")
          + f"returns mean {np.mean(returns):.1f}, median {np.median(returns):.1f}")
    probe = args.probe_seed if args.probe_seed is not None else (silent[0] if silent else None)
    if probe is not None:
        for membrane in range(6):
            total, acts, _ = run(policy, env, probe, membrane)
            print(f"env seed {probe}, membrane seed {membrane}: return {total:.1f}, last 50 "
                  f"mean|a| {acts[-50:].mean():.3f}")
    env.close()


if __name__ == "__main__":
    main()
