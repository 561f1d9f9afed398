"""Train sb3-contrib's RecurrentPPO (LSTM policy) under a wall-clock budget and log its curve.

    python benchmarks/peers/ppo_lstm.py --env Hopper-v5 --seed 0 --budget-seconds 1800 \
        --out benchmarks/results/peers/Hopper-v5/ppo_lstm-seed0 --models runs/peers

Every ``--eval-every`` seconds of training wall-clock (evaluation time excluded, measured
on its own) the current policy plays ``--eval-episodes`` deterministic episodes, carrying
its LSTM state, and ``(wall_clock, env_steps, eval_return)`` is appended to
``OUT/curve.csv``. Training stops when one more iteration (a rollout and its update), as
long as the last one, would end past the budget; a final evaluation follows, inside the
budget. Then the model is saved (SB3 zip plus the VecNormalize
statistics) and ``OUT/run.json`` records its size and per-step inference time.
Needs the ``bench`` extra: ``pip install -e ".[bench]"``.

Hyperparameters
---------------
Source: the tuned recurrent-PPO settings of the RL Baselines3 Zoo (file
``hyperparams/ppo_lstm.yml``, entries ``Hopper-v3``, ``HalfCheetah-v3`` and ``Humanoid-v3``),
applied unchanged to the v5 tasks, which have the same observation and action sizes.
The values are written out below; anything not listed is the sb3-contrib default
(``MlpLstmPolicy``: one LSTM layer of 256 units for the actor and a separate one for the
critic). All three use one environment, observation and reward normalisation
(VecNormalize, with the task's gamma), ``log_std_init=-2``, ``ortho_init=False``, ReLU and
two hidden layers of 256 units after the LSTM for both actor and critic. Other tasks fall
back to the sb3-contrib defaults with the same normalisation.
"""

from __future__ import annotations

import os
import sys
import time
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (EVAL_SEED, INFERENCE_CALLS, WallClockLog, code_commit,  # noqa: E402
                    inference_us, machine_info, print_final, runner_parser,
                    write_run_json)

METHOD = "ppo_lstm"

_NET = {"log_std_init": -2.0, "ortho_init": False, "activation_fn": "relu",
        "net_arch": {"pi": [256, 256], "vf": [256, 256]}}

#: Tuned values per task (source above). The zoo tuned them for 1e6 steps (1e7 for
#: Humanoid); here training stops at the wall-clock budget instead.
HYPERPARAMS = {
    "Hopper-v5": dict(n_steps=512, batch_size=32, gamma=0.999, learning_rate=9.80828e-05,
                      ent_coef=0.00229519, clip_range=0.2, n_epochs=5, gae_lambda=0.99,
                      max_grad_norm=0.7, vf_coef=0.835671, policy_kwargs=_NET),
    "HalfCheetah-v5": dict(n_steps=512, batch_size=64, gamma=0.98, learning_rate=2.0633e-05,
                           ent_coef=0.000401762, clip_range=0.1, n_epochs=20,
                           gae_lambda=0.92, max_grad_norm=0.8, vf_coef=0.58096,
                           policy_kwargs=_NET),
    "Humanoid-v5": dict(n_steps=512, batch_size=256, gamma=0.95, learning_rate=3.56987e-05,
                        ent_coef=0.00238306, clip_range=0.3, n_epochs=5, gae_lambda=0.9,
                        max_grad_norm=2.0, vf_coef=0.431892, policy_kwargs=_NET),
}


def hyperparams_for(env_id):
    """``(kwargs for RecurrentPPO, source note)`` for a task."""
    if env_id in HYPERPARAMS:
        return dict(HYPERPARAMS[env_id]), f"RL Baselines3 Zoo ppo_lstm.yml, {env_id[:-3]}-v3"
    return {}, "sb3-contrib defaults (no tuned set for this task)"


def _policy_kwargs(kwargs):
    import torch.nn as nn

    pk = dict(kwargs.get("policy_kwargs") or {})
    if "activation_fn" in pk:
        pk["activation_fn"] = {"relu": nn.ReLU, "tanh": nn.Tanh}[pk["activation_fn"]]
    if "net_arch" in pk:
        pk["net_arch"] = {k: list(v) for k, v in pk["net_arch"].items()}
    kwargs["policy_kwargs"] = pk
    return kwargs


def parameter_counts(model):
    """``(all parameters, parameters needed to act)``: the second leaves out the critic."""
    actor_prefixes = ("lstm_actor.", "mlp_extractor.policy_net.", "action_net.", "log_std",
                      "features_extractor.", "pi_features_extractor.")
    total = actor = 0
    for name, p in model.policy.named_parameters():
        total += p.numel()
        if name.startswith(actor_prefixes):
            actor += p.numel()
    return int(total), int(actor)


def make_evaluator(model, vecnorm, env_id, n_episodes):
    """Mean and std of the deterministic return over fixed seeds, raw (unnormalised) reward."""
    import gymnasium as gym

    env = gym.make(env_id)

    def evaluate():
        returns = []
        for i in range(n_episodes):
            obs, _ = env.reset(seed=EVAL_SEED + i)
            state, start, total, done = None, np.ones(1, dtype=bool), 0.0, False
            while not done:
                o = vecnorm.normalize_obs(np.asarray(obs, dtype=np.float32)[None])
                action, state = model.predict(o, state=state, episode_start=start,
                                              deterministic=True)
                start = np.zeros(1, dtype=bool)
                obs, reward, terminated, truncated, _ = env.step(action[0])
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
        return float(np.mean(returns)), float(np.std(returns))

    return evaluate


def main(argv=None):
    ap = runner_parser(__doc__)
    ap.add_argument("--threads", type=int, default=2, help="torch threads: the core budget")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    import sb3_contrib
    import stable_baselines3
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    os.makedirs(args.out, exist_ok=True)
    model_dir = os.path.join(args.models, args.env, f"{METHOD}-seed{args.seed}")
    os.makedirs(model_dir, exist_ok=True)
    eval_every = args.eval_every or args.budget_seconds / 20
    log = WallClockLog(os.path.join(args.out, "curve.csv"), args.budget_seconds, eval_every)

    kwargs, source = hyperparams_for(args.env)
    gamma = kwargs.get("gamma", 0.99)
    log.start()  # building the model and its environment counts, as SATR's start-up does
    venv = VecNormalize(make_vec_env(args.env, n_envs=1, seed=args.seed), gamma=gamma)
    model = RecurrentPPO("MlpLstmPolicy", venv, seed=args.seed, device="cpu", verbose=0,
                         **_policy_kwargs(dict(kwargs)))
    evaluate = make_evaluator(model, venv, args.env, args.eval_episodes)

    class WallClock(BaseCallback):
        """Evaluates on schedule; stops before an iteration that would end past the budget."""

        def _on_training_start(self):
            log.evaluate(0, evaluate)
            self.iter_start, self.iter_time, self.stop = None, 0.0, False
            self.rollout_end, self.update_total = None, 0.0

        def _on_rollout_start(self):
            # one iteration = a rollout of n_steps plus the update that follows it
            clock = log.train_clock()
            if self.iter_start is not None:
                self.iter_time = clock - self.iter_start
            if self.rollout_end is not None:
                self.update_total += clock - self.rollout_end
            self.iter_start = clock
            self.stop = clock + self.iter_time > log.budget

        def _on_rollout_end(self):
            self.rollout_end = log.train_clock()

        def _on_step(self):
            if self.stop or log.over_budget():
                return False
            if log.eval_due():
                # evaluation time is off the clock: keep it out of the iteration time too
                log.evaluate(self.num_timesteps, evaluate)
            return True

    t_start = time.time()
    timer = WallClock()
    model.learn(total_timesteps=10**12, callback=timer)
    log.evaluate(model.num_timesteps, evaluate)  # the final point, at the budget

    zip_path = os.path.join(model_dir, "model.zip")
    norm_path = os.path.join(model_dir, "vecnormalize.pkl")
    model.save(zip_path)
    venv.save(norm_path)
    with zipfile.ZipFile(zip_path) as zf:
        policy_bytes = zf.getinfo("policy.pth").file_size
    n_all, n_actor = parameter_counts(model)

    state = {"s": None}

    def act(obs, new):
        o = venv.normalize_obs(np.asarray(obs, dtype=np.float32)[None])
        action, state["s"] = model.predict(o, state=state["s"],
                                           episode_start=np.array([new]), deterministic=True)
        return action[0]

    median_us, p90_us = inference_us(args.env, act)
    final = log.rows[-1]
    write_run_json(os.path.join(args.out, "run.json"), {
        "method": METHOD, "env": args.env, "seed": args.seed,
        "budget_seconds": args.budget_seconds, "eval_every": eval_every,
        "eval_episodes": args.eval_episodes, "threads": args.threads,
        "final_return": final["eval_return"], "final_wall_clock": final["wall_clock"],
        "final_env_steps": final["env_steps"],
        "eval_seconds_total": round(log.eval_total, 3),
        "update_seconds": round(timer.update_total, 3),
        "elapsed_seconds": round(time.time() - t_start, 3),
        "parameters": n_all, "parameters_actor": n_actor, "parameter_dtype": "float32",
        "bytes_on_disk": os.path.getsize(zip_path) + os.path.getsize(norm_path),
        "bytes_model_zip": os.path.getsize(zip_path),
        "bytes_normalizer": os.path.getsize(norm_path),
        "bytes_policy_weights": policy_bytes,
        "inference_us_median": round(median_us, 2), "inference_us_p90": round(p90_us, 2),
        "inference_calls": INFERENCE_CALLS,
        "hyperparams": HYPERPARAMS.get(args.env, {}), "hyperparams_source": source,
        "versions": {"torch": torch.__version__, "stable_baselines3": stable_baselines3.__version__,
                     "sb3_contrib": sb3_contrib.__version__, "numpy": np.__version__},
        "machine": machine_info(), "model_dir": model_dir, "commit": code_commit(),
    })
    print_final(METHOD, args, final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
