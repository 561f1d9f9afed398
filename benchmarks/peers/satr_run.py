"""Train SATRSearch under a wall-clock budget and log its curve the same way as ppo_lstm.py.

    python benchmarks/peers/satr_run.py --env Hopper-v5 --seed 0 --budget-seconds 1800 \
        --out benchmarks/results/peers/Hopper-v5/satr-seed0 --models runs/peers

A callback runs after every generation: every ``--eval-every`` seconds of training
wall-clock (evaluation time excluded, measured on its own) it evaluates the current
deterministic network ``est.policy_`` with ``satrlearn.evaluate_policy`` over
``--eval-episodes`` episodes and appends ``(wall_clock, env_steps, eval_return)`` to
``OUT/curve.csv`` (the first evaluation follows the first generation). When another
generation as long as the last one would end past the budget, it evaluates once more and
stops the fit, so the final point lies inside the budget. The policy is
saved as ``policy.npz`` and ``OUT/run.json`` records its size and per-step inference time.

The search uses the estimator's documented defaults (``pop=128``, ``n_hidden=256``,
``eta=30``) on every core (``n_jobs=-1``). Callbacks see ``est.policy_`` of the generation
that just finished, so no checkpoint is written; the ``search_seconds`` column (the
estimator's own ``wall_time_``, generations only) shows how much of the measured wall-clock
the generations themselves took.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (EVAL_SEED, INFERENCE_CALLS, WallClockLog, code_commit,  # noqa: E402
                    inference_us, machine_info, print_final, runner_parser,
                    write_run_json)

METHOD = "satr"


def main(argv=None):
    ap = runner_parser(__doc__)
    ap.add_argument("--pop", type=int, default=128)
    ap.add_argument("--n-hidden", type=int, default=256)
    ap.add_argument("--n-jobs", type=int, default=-1)
    args = ap.parse_args(argv)

    import satrlearn
    from satrlearn import RSNNPolicy, SATRSearch, evaluate_policy

    os.makedirs(args.out, exist_ok=True)
    model_dir = os.path.join(args.models, args.env, f"{METHOD}-seed{args.seed}")
    os.makedirs(model_dir, exist_ok=True)
    eval_every = args.eval_every or args.budget_seconds / 20
    log = WallClockLog(os.path.join(args.out, "curve.csv"), args.budget_seconds, eval_every)

    def evaluate_current(est):
        def run():
            _, returns = evaluate_policy(est.policy_, args.env, n_episodes=args.eval_episodes,
                                         seed=EVAL_SEED)
            return float(np.mean(returns)), float(np.std(returns))
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

    est = SATRSearch(pop=args.pop, n_generations=10**9, n_hidden=args.n_hidden,
                     n_jobs=args.n_jobs, random_state=args.seed, callbacks=[on_generation])
    t_start = time.time()
    log.start()
    est.fit(args.env)
    if not log.rows or log.rows[-1]["env_steps"] != est.env_steps_:
        log.evaluate(est.env_steps_, evaluate_current(est), est.wall_time_)

    path = est.policy_.save(os.path.join(model_dir, "policy.npz"))
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
    write_run_json(os.path.join(args.out, "run.json"), {
        "method": METHOD, "env": args.env, "seed": args.seed,
        "budget_seconds": args.budget_seconds, "eval_every": eval_every,
        "eval_episodes": args.eval_episodes, "n_jobs": args.n_jobs,
        "final_return": final["eval_return"], "final_wall_clock": final["wall_clock"],
        "final_env_steps": final["env_steps"], "generations": est.n_generations_,
        "search_seconds": round(est.wall_time_, 3),
        "eval_seconds_total": round(log.eval_total, 3),
        "elapsed_seconds": round(time.time() - t_start, 3),
        "parameters": int(policy.n_params), "parameters_actor": int(policy.n_params),
        "parameter_dtype": "1-bit connections",
        "bytes_on_disk": os.path.getsize(path),
        "inference_us_median": round(median_us, 2), "inference_us_p90": round(p90_us, 2),
        "inference_us_median_predict": round(predict_us, 2),
        "inference_calls": INFERENCE_CALLS,
        "hyperparams": {"pop": args.pop, "n_hidden": args.n_hidden, "eta": est.eta,
                        "n_episodes": est.n_episodes},
        "hyperparams_source": "satrlearn SATRSearch defaults",
        "versions": {"satrlearn": satrlearn.__version__, "numpy": np.__version__},
        "machine": machine_info(), "model_dir": model_dir, "commit": code_commit(),
    })
    print_final(METHOD, args, final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
