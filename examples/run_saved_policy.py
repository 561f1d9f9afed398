"""Load a saved policy and run it in a plain Gymnasium loop.

    python examples/run_saved_policy.py runs/<run>/policy.npz InvertedPendulum-v5

Without arguments it first trains a small CartPole-v1 policy and saves it, so that the
example runs on its own.
Set SATRLEARN_EXAMPLE_QUICK=1 for a tiny budget (a smoke test).
"""

import os
import sys
import tempfile

import gymnasium as gym
import numpy as np

from satrlearn import RSNNPolicy, SATRSearch

QUICK = os.environ.get("SATRLEARN_EXAMPLE_QUICK") == "1"


def train_and_save(folder):
    budget = dict(pop=8, n_generations=2, n_hidden=32) if QUICK else \
        dict(pop=64, n_generations=20, n_hidden=128)
    est = SATRSearch(**budget, n_jobs=1, random_state=0).fit("CartPole-v1")
    path = est.policy_.save(os.path.join(folder, "policy.npz"))
    print(f"saved a CartPole-v1 policy to {path}")
    return path


def run(path, env_id, episodes=3):
    policy = RSNNPolicy.load(path)
    print(f"loaded {policy}")
    env = gym.make(env_id)
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        policy.reset(seed=episode)  # fresh membrane potentials for a new episode
        total, done = 0.0, False
        while not done:
            action = policy(obs)  # the network keeps its state between calls
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        print(f"episode {episode}: return {total:.1f}, {policy.steps} steps, "
              f"{policy.spikes / max(policy.steps, 1):.1f} spikes per step")
    env.close()

    # the same policy through the Stable-Baselines3 predictor protocol, on a vector env
    # SAME_STEP autoreset returns the first observation of the next episode with the last
    # step of the previous one, which is what episode_start expects
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync", vector_kwargs={
        "autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    obs, _ = envs.reset(seed=0)
    state, starts = None, np.ones(2, dtype=bool)
    for _ in range(10):
        actions, state = policy.predict(obs, state=state, episode_start=starts)
        obs, _, terminated, truncated, _ = envs.step(actions)
        starts = terminated | truncated
    envs.close()
    print("ran 10 steps of 2 environments with policy.predict(obs, state, episode_start)")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        run(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "CartPole-v1")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(train_and_save(tmp), "CartPole-v1")
