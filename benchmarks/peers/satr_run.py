"""Train SATRSearch under a wall-clock budget and log its curve the same way as the PPO runners.

    python benchmarks/peers/satr_run.py --env Hopper-v5 --seed 0 --budget-seconds 1800 \
        --out benchmarks/results/peers/Hopper-v5/satr-seed0 --models runs/peers

The search uses ``SATRSearch``'s documented defaults (whatever the installed satrlearn
sets: population, hidden neurons, ``eta``, the fit's own evaluations every ``eval_every``
generations, reward shaping...) on every core (``n_jobs=-1``), with
``max_time=--budget-seconds``, so that a budget-driven schedule (``--eta budget``) knows the
budget. ``--pop``, ``--n-hidden`` and ``--eta`` override the defaults; run.json records the
estimator's parameters as used.

A callback runs after every generation: every ``--eval-every`` seconds of training
wall-clock (evaluation time excluded, measured on its own) it evaluates, with
``satrlearn.evaluate_policy`` over ``--eval-episodes`` fresh episodes on the environment's
own reward,

- ``est.best_policy_``, the network the fit's own periodic evaluations chose (what the
  estimator hands a user): its return is the curve's ``eval_return`` (and ``eval_std``);
- ``est.policy_``, the deterministic network of the current distribution: columns
  ``mode_return`` and ``mode_std``.

The first evaluation follows the first generation. When another generation as long as the
last one would end past the budget, it evaluates once more and stops the fit, so the final
point lies inside the budget (the estimator's own ``max_time`` stop, which counts the
generations only, would come a generation later). ``best_policy_`` is therefore the choice
of the last periodic evaluation the fit ran (every ``eval_every`` generations), not of a
final one. ``final_return`` in run.json is ``best_policy_``'s return at the budget and
``final_return_mode`` that of ``policy_``. ``best_policy_`` is saved as ``policy.npz`` (the
model whose size and per-step inference time run.json records) and ``policy_`` as
``policy_mode.npz``. Callbacks see the estimator after the generation that just finished,
so no checkpoint is written; the ``search_seconds`` column (the estimator's own
``wall_time_``: the generations, its periodic evaluations included) shows how much of the
measured wall-clock the generations themselves took.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (EVAL_SEED, INFERENCE_CALLS, WallClockLog, code_commit,  # noqa: E402
                    inference_us, machine_info, print_final, runner_parser,
                    write_run_json)

METHOD = "satr"
MODE_COLUMNS = ("mode_return", "mode_std")


def _eta(text):
    return text if text == "budget" else float(text)


def _json_params(est):
    """The estimator's parameters that JSON can hold (callbacks left out)."""
    return {k: v for k, v in est.get_params().items()
            if k != "callbacks" and (v is None or isinstance(v, (bool, int, float, str)))}


def main(argv=None):
    ap = runner_parser(__doc__)
    ap.add_argument("--pop", type=int, default=None,
                    help="population (default: SATRSearch's default)")
    ap.add_argument("--n-hidden", type=int, default=None,
                    help="spiking neurons (default: SATRSearch's default)")
    ap.add_argument("--eta", type=_eta, default=None,
                    help="step size, a number or 'budget' (default: SATRSearch's default)")
    ap.add_argument("--n-jobs", type=int, default=-1)
    args = ap.parse_args(argv)

    import satrlearn
    from satrlearn import RSNNPolicy, SATRSearch, evaluate_policy

    os.makedirs(args.out, exist_ok=True)
    model_dir = os.path.join(args.models, args.env, f"{METHOD}-seed{args.seed}")
    os.makedirs(model_dir, exist_ok=True)
    eval_every = args.eval_every or args.budget_seconds / 20
    log = WallClockLog(os.path.join(args.out, "curve.csv"), args.budget_seconds, eval_every,
                       extra_columns=MODE_COLUMNS)

    def returns_of(policy):
        _, returns = evaluate_policy(policy, args.env, n_episodes=args.eval_episodes,
                                     seed=EVAL_SEED)
        return float(np.mean(returns)), float(np.std(returns))

    def evaluate_current(est):
        def run():
            mode = returns_of(est.policy_)
            best = mode if est.best_policy_ is est.policy_ else returns_of(est.best_policy_)
            return best[0], best[1], {"mode_return": mode[0], "mode_std": mode[1]}
        return run

    last = {"clock": 0.0, "gen": 0.0}

    def on_generation(est, record):
        # stop when the next generation, as long as this one, would end past the budget:
        # the final evaluation then falls inside the budget
        clock = log.train_clock()
        last["gen"], last["clock"] = clock - last["clock"], clock
        if clock + last["gen"] > log.budget:
            log.evaluate(est.env_steps_, evaluate_current(est), est.wall_time_)
            return False
        if log.eval_due():
            log.evaluate(est.env_steps_, evaluate_current(est), est.wall_time_)
        last["clock"] = log.train_clock()
        return True

    overrides = {k: v for k, v in (("pop", args.pop), ("n_hidden", args.n_hidden),
                                   ("eta", args.eta)) if v is not None}
    t_start = time.time()
    log.start()
    est = SATRSearch(max_time=args.budget_seconds, n_jobs=args.n_jobs,
                     random_state=args.seed, callbacks=[on_generation], **overrides)
    est.fit(args.env)
    if not log.rows or log.rows[-1]["env_steps"] != est.env_steps_:
        log.evaluate(est.env_steps_, evaluate_current(est), est.wall_time_)

    path = est.best_policy_.save(os.path.join(model_dir, "policy.npz"))
    mode_path = est.policy_.save(os.path.join(model_dir, "policy_mode.npz"))
    policy = RSNNPolicy.load(path)

    def act(obs, new):
        if new:
            policy.reset(seed=0)
        return policy(obs)

    median_us, p90_us = inference_us(args.env, act)
    state = {"s": None}

    def act_predict(obs, new):
        action, state["s"] = policy.predict(obs, state=state["s"], episode_start=np.array([new]))
        return action

    predict_us, _ = inference_us(args.env, act_predict)
    final = log.rows[-1]
    fit_score = float(est.best_score_)
    write_run_json(os.path.join(args.out, "run.json"), {
        "method": METHOD, "env": args.env, "seed": args.seed,
        "budget_seconds": args.budget_seconds, "eval_every": eval_every,
        "eval_episodes": args.eval_episodes, "n_jobs": args.n_jobs,
        "curve_policy": "best_policy_",
        "final_return": final["eval_return"], "final_std": final["eval_std"],
        "final_return_mode": final["mode_return"], "final_std_mode": final["mode_std"],
        "best_score_fit": fit_score if math.isfinite(fit_score) else None,
        "final_wall_clock": final["wall_clock"],
        "final_env_steps": final["env_steps"], "generations": est.n_generations_,
        "search_seconds": round(est.wall_time_, 3),
        "eval_seconds_total": round(log.eval_total, 3),
        "elapsed_seconds": round(time.time() - t_start, 3),
        "parameters": int(policy.n_params), "parameters_actor": int(policy.n_params),
        "parameter_dtype": "1-bit connections",
        "bytes_on_disk": os.path.getsize(path),
        "bytes_policy_mode": os.path.getsize(mode_path),
        "inference_us_median": round(median_us, 2), "inference_us_p90": round(p90_us, 2),
        "inference_us_median_predict": round(predict_us, 2),
        "inference_calls": INFERENCE_CALLS,
        "hyperparams": _json_params(est),
        "network": est.network_config_.to_dict(),  # the constants, k_in included
        "hyperparams_overridden": sorted(overrides),
        "hyperparams_source": ("satrlearn SATRSearch defaults" if not overrides else
                               "satrlearn SATRSearch defaults, except "
                               + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))),
        "versions": {"satrlearn": satrlearn.__version__, "numpy": np.__version__},
        "machine": machine_info(), "model_dir": model_dir, "commit": code_commit(),
    })
    print_final(METHOD, args, final, final_return_mode=final["mode_return"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
