"""Train Stable-Baselines3's feed-forward PPO under a wall-clock budget and log its curve.

    python benchmarks/peers/ppo.py --env Hopper-v5 --seed 0 --budget-seconds 1800 \
        --out benchmarks/results/peers/Hopper-v5/ppo-seed0 --models runs/peers

The same protocol as ``ppo_lstm.py`` (the loop, the evaluation and the record are
``sb3_common.run_sb3``): every ``--eval-every`` seconds of training wall-clock (evaluation
time excluded, measured on its own) the current policy plays ``--eval-episodes`` fresh
episodes with deterministic actions on the environment's own reward, and
``(wall_clock, env_steps, eval_return)`` is appended to ``OUT/curve.csv``. Training stops
when one more iteration (a rollout and its update), as long as the last one, would end past
the budget; a final evaluation follows, inside the budget. Then the model is saved (SB3 zip
plus the VecNormalize statistics) and ``OUT/run.json`` records its size and per-step
inference time. Needs the ``bench`` extra: ``pip install -e ".[bench]"``.

Hyperparameters
---------------
Source: the tuned PPO settings of the RL Baselines3 Zoo, file ``hyperparams/ppo.yml`` of
github.com/DLR-RM/rl-baselines3-zoo (read at commit 22e3ff2450fd, April 2026), entries
``Hopper-v4``, ``Walker2d-v4`` and ``HalfCheetah-v4``. The Zoo has no ``-v5`` entries; the
``-v4`` ones (identical to its older ``-v3`` ones) are applied unchanged to the v5 tasks,
which have the same observation and action sizes. Every entry uses ``MlpPolicy``, one
environment (``n_envs: 1``), ``normalize: true`` (VecNormalize of observations and rewards,
with the entry's gamma, as the Zoo passes it) and ``n_timesteps: 1e6``; training stops at
the wall-clock budget here instead. The values are written out below; anything not listed
is the Stable-Baselines3 default. Hopper and HalfCheetah set ``log_std_init=-2``,
``ortho_init=False``, ReLU and separate actor and critic networks of two 256-unit layers;
the Walker2d entry sets no ``policy_kwargs``, so it has SB3's default ``MlpPolicy``
(separate 64-64 tanh networks, ``log_std_init=0``, orthogonal initialisation). Other tasks
fall back to SB3's PPO defaults (the Zoo's ``default`` entry), normalised like the tuned
ones (that entry itself does not normalise).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sb3_common import ZOO_NET as _NET  # noqa: E402

METHOD = "ppo"

#: Tuned values per task (source above), as the Zoo writes them.
HYPERPARAMS = {
    "Hopper-v5": dict(n_steps=512, batch_size=32, gamma=0.999, learning_rate=9.80828e-05,
                      ent_coef=0.00229519, clip_range=0.2, n_epochs=5, gae_lambda=0.99,
                      max_grad_norm=0.7, vf_coef=0.835671, policy_kwargs=_NET),
    "Walker2d-v5": dict(n_steps=512, batch_size=32, gamma=0.99, learning_rate=5.05041e-05,
                        ent_coef=0.000585045, clip_range=0.1, n_epochs=20, gae_lambda=0.95,
                        max_grad_norm=1.0, vf_coef=0.871923),
    "HalfCheetah-v5": dict(n_steps=512, batch_size=64, gamma=0.98, learning_rate=2.0633e-05,
                           ent_coef=0.000401762, clip_range=0.1, n_epochs=20,
                           gae_lambda=0.92, max_grad_norm=0.8, vf_coef=0.58096,
                           policy_kwargs=_NET),
}


def hyperparams_for(env_id):
    """``(kwargs for PPO, source note)`` for a task."""
    if env_id in HYPERPARAMS:
        return (dict(HYPERPARAMS[env_id]),
                f"RL Baselines3 Zoo ppo.yml, {env_id[:-3]}-v4 (commit 22e3ff2450fd)")
    return {}, "Stable-Baselines3 PPO defaults (the Zoo's default entry; no tuned set)"


def _load_algo():
    from stable_baselines3 import PPO
    return PPO, None


def main(argv=None):
    from sb3_common import sb3_main
    return sb3_main(__doc__, argv, method=METHOD, policy="MlpPolicy", load_algo=_load_algo,
                    settings=hyperparams_for)


if __name__ == "__main__":
    sys.exit(main())
