"""SATR, EC, EC with a fixed trust region and ES on one environment, with one budget each.

    python examples/compare_strategies.py [ENV_ID]

Prints one table row per algorithm. One seed says little about an algorithm: repeat with
several ``random_state`` values before drawing conclusions.
Set SATRLEARN_EXAMPLE_QUICK=1 for a tiny budget (a smoke test).
"""

import os
import sys

from satrlearn import ECSearch, ESSearch, SATRSearch

QUICK = os.environ.get("SATRLEARN_EXAMPLE_QUICK") == "1"
BUDGET = dict(pop=8, n_generations=2, n_hidden=32, n_jobs=1) if QUICK else \
    dict(pop=64, n_generations=30, n_hidden=128, n_jobs=-1)


def main(env_id="CartPole-v1"):
    searches = {
        "SATR": SATRSearch(**BUDGET, random_state=0),
        "EC": ECSearch(**BUDGET, random_state=0),
        "EC+TR": ECSearch(**BUDGET, trust_region=0.5, random_state=0),
        "ES": ESSearch(**BUDGET, random_state=0),
    }
    print(f"{env_id}: population {BUDGET['pop']}, {BUDGET['n_generations']} generations, "
          f"{BUDGET['n_hidden']} neurons")
    header = f"{'algorithm':<10}{'final det':>11}{'best eval':>11}{'score':>9}" \
             f"{'env steps':>11}{'seconds':>9}"
    print(header)
    print("-" * len(header))
    for name, est in searches.items():
        est.fit(env_id)
        score = est.score(env_id, n_episodes=5, seed=1)
        print(f"{name:<10}{est.history_['return_det'][-1]:>11.1f}{est.best_score_:>11.1f}"
              f"{score:>9.1f}{est.env_steps_:>11d}{est.wall_time_:>9.1f}")
    print("final det: return of the deterministic network after the last generation; "
          "best eval: best evaluation of it during training (best_score_); "
          "score: mean return of policy_ over 5 new episodes. All are true returns.")


if __name__ == "__main__":
    main(*sys.argv[1:2])
