"""RSNNPolicy in Stable-Baselines3's own evaluation loop (runs with the bench extra installed)."""

import pytest

from satrlearn import SATRSearch

sb3 = pytest.importorskip("stable_baselines3")


def test_sb3_evaluate_policy_runs_a_trained_policy():
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    est = SATRSearch(pop=32, n_generations=20, n_hidden=64, random_state=0).fit("CartPole-v1")
    venv = make_vec_env("CartPole-v1", n_envs=3, seed=0)
    # SB3 batches observations over the vector env, carries our state tuple between calls and
    # passes episode_start when an env resets
    rewards, lengths = evaluate_policy(est.policy_, venv, n_eval_episodes=6,
                                       deterministic=True, return_episode_rewards=True)
    assert len(rewards) == 6 and lengths == [int(r) for r in rewards]
    assert sum(rewards) / 6 >= 195  # a random policy averages about 22
