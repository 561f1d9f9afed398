"""The Stable-Baselines3 side of the peer runners: one training loop for PPO and PPO-LSTM.

``ppo.py`` (feed-forward ``stable_baselines3.PPO``) and ``ppo_lstm.py`` (sb3-contrib's
``RecurrentPPO``) differ only in the algorithm class, the policy and the hyperparameters;
everything measured is done here, the same way for both:

- the model and its environment (one environment, wrapped in ``VecNormalize`` with the
  task's gamma when the hyperparameters ask for normalisation, as the RL Baselines3 Zoo
  does) are built on the training clock;
- a callback evaluates the current policy every ``eval_every`` seconds (deterministic
  actions, the raw environment reward, fresh episodes on seeds ``EVAL_SEED + i``, the
  observation normalised with the training statistics, the recurrent state carried) and
  stops training before an iteration (a rollout and its update) that, as long as the last
  one, would end past the budget; a final evaluation follows, inside the budget;
- the model is saved (SB3 zip, plus ``vecnormalize.pkl``) and ``run.json`` records its size,
  its parameter counts and the per-step inference time.
"""

from __future__ import annotations

import os
import time
import zipfile

import numpy as np

from common import (EVAL_SEED, INFERENCE_CALLS, WallClockLog, code_commit, inference_us,
                    machine_info, print_final, write_run_json)

#: Parameter-name prefixes of the part of an SB3 policy needed to act (the critic is not).
ACTOR_PREFIXES = ("lstm_actor.", "mlp_extractor.policy_net.", "action_net.", "log_std",
                  "features_extractor.", "pi_features_extractor.")


#: The network the Zoo's tuned MuJoCo entries set (``policy_kwargs``), in JSON-able form.
ZOO_NET = {"log_std_init": -2.0, "ortho_init": False, "activation_fn": "relu",
           "net_arch": {"pi": [256, 256], "vf": [256, 256]}}


def policy_kwargs_objects(kwargs):
    """``kwargs`` with ``policy_kwargs`` turned from the JSON-able form into SB3's objects."""
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
    total = actor = 0
    for name, p in model.policy.named_parameters():
        total += p.numel()
        if name.startswith(ACTOR_PREFIXES):
            actor += p.numel()
    return int(total), int(actor)


def _normalize(vecnorm, obs):
    o = np.asarray(obs, dtype=np.float32)[None]
    return o if vecnorm is None else vecnorm.normalize_obs(o)


def make_evaluator(model, vecnorm, env_id, n_episodes):
    """Mean and std of the deterministic return over fixed seeds, raw (unnormalised) reward.

    ``state``/``episode_start`` are passed for recurrent policies and ignored (returned as
    given) by feed-forward ones.
    """
    import gymnasium as gym

    env = gym.make(env_id)

    def evaluate():
        returns = []
        for i in range(n_episodes):
            obs, _ = env.reset(seed=EVAL_SEED + i)
            state, start, total, done = None, np.ones(1, dtype=bool), 0.0, False
            while not done:
                action, state = model.predict(_normalize(vecnorm, obs), state=state,
                                              episode_start=start, deterministic=True)
                start = np.zeros(1, dtype=bool)
                obs, reward, terminated, truncated, _ = env.step(action[0])
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
        return float(np.mean(returns)), float(np.std(returns))

    return evaluate


def run_sb3(args, *, method, algo, policy, hyperparams, source, normalize=True,
            versions=None):
    """Train ``algo(policy, ...)`` with ``hyperparams`` under the wall-clock budget of
    ``args`` (from ``common.runner_parser`` plus ``--threads``); write curve.csv, the model
    and run.json; print the final line. ``hyperparams`` are the algorithm's keyword
    arguments in the JSON-able form that run.json records (activation names as strings);
    ``normalize`` wraps the environment in ``VecNormalize`` with their gamma."""
    import torch

    torch.set_num_threads(args.threads)
    import stable_baselines3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    os.makedirs(args.out, exist_ok=True)
    model_dir = os.path.join(args.models, args.env, f"{method}-seed{args.seed}")
    os.makedirs(model_dir, exist_ok=True)
    eval_every = args.eval_every or args.budget_seconds / 20
    log = WallClockLog(os.path.join(args.out, "curve.csv"), args.budget_seconds, eval_every)

    kwargs = dict(hyperparams)
    gamma = kwargs.get("gamma", 0.99)
    log.start()  # building the model and its environment counts, as SATR's start-up does
    venv = make_vec_env(args.env, n_envs=1, seed=args.seed)
    vecnorm = VecNormalize(venv, gamma=gamma) if normalize else None
    model = algo(policy, vecnorm or venv, seed=args.seed, device="cpu", verbose=0,
                 **policy_kwargs_objects(dict(kwargs)))
    evaluate = make_evaluator(model, vecnorm, args.env, args.eval_episodes)

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
    model.save(zip_path)
    norm_bytes = 0
    if vecnorm is not None:
        norm_path = os.path.join(model_dir, "vecnormalize.pkl")
        vecnorm.save(norm_path)
        norm_bytes = os.path.getsize(norm_path)
    with zipfile.ZipFile(zip_path) as zf:
        policy_bytes = zf.getinfo("policy.pth").file_size
    n_all, n_actor = parameter_counts(model)

    state = {"s": None}

    def act(obs, new):
        action, state["s"] = model.predict(_normalize(vecnorm, obs), state=state["s"],
                                           episode_start=np.array([new]), deterministic=True)
        return action[0]

    median_us, p90_us = inference_us(args.env, act)
    final = log.rows[-1]
    write_run_json(os.path.join(args.out, "run.json"), {
        "method": method, "env": args.env, "seed": args.seed,
        "budget_seconds": args.budget_seconds, "eval_every": eval_every,
        "eval_episodes": args.eval_episodes, "threads": args.threads,
        "final_return": final["eval_return"], "final_wall_clock": final["wall_clock"],
        "final_env_steps": final["env_steps"],
        "eval_seconds_total": round(log.eval_total, 3),
        "update_seconds": round(timer.update_total, 3),
        "elapsed_seconds": round(time.time() - t_start, 3),
        "parameters": n_all, "parameters_actor": n_actor, "parameter_dtype": "float32",
        "bytes_on_disk": os.path.getsize(zip_path) + norm_bytes,
        "bytes_model_zip": os.path.getsize(zip_path),
        "bytes_normalizer": norm_bytes,
        "bytes_policy_weights": policy_bytes,
        "inference_us_median": round(median_us, 2), "inference_us_p90": round(p90_us, 2),
        "inference_calls": INFERENCE_CALLS,
        "hyperparams": hyperparams, "hyperparams_source": source, "normalize": normalize,
        "versions": {"torch": torch.__version__,
                     "stable_baselines3": stable_baselines3.__version__,
                     "numpy": np.__version__, **(versions or {})},
        "machine": machine_info(), "model_dir": model_dir, "commit": code_commit(),
    })
    print_final(method, args, final)
    return 0


def sb3_main(doc, argv, *, method, policy, load_algo, settings):
    """The command line of an SB3 runner: parse ``argv`` (``common.runner_parser(doc)`` plus
    ``--threads``), look up the task's settings and train with :func:`run_sb3`.

    ``load_algo()`` returns ``(algorithm class, {package: version} to record)``;
    ``settings(env_id)`` returns ``(hyperparameters, a note on where they come from)``.
    """
    from common import runner_parser

    ap = runner_parser(doc)
    ap.add_argument("--threads", type=int, default=2, help="torch threads: the core budget")
    args = ap.parse_args(argv)
    algo, versions = load_algo()
    kwargs, source = settings(args.env)
    return run_sb3(args, method=method, algo=algo, policy=policy, hyperparams=kwargs,
                   source=source, normalize=True, versions=versions)
