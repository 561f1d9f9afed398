"""Fit a spiking policy on CartPole-v1 with SATR, then score it.

    python examples/fit_cartpole.py

Set SATRLEARN_EXAMPLE_QUICK=1 for a tiny budget (a smoke test, not a useful policy).
"""

import os

from satrlearn import SATRSearch

QUICK = os.environ.get("SATRLEARN_EXAMPLE_QUICK") == "1"
BUDGET = dict(pop=8, n_generations=2, n_hidden=32, n_jobs=1) if QUICK else \
    dict(pop=64, n_generations=30, n_hidden=128, n_jobs=-1)


def main():
    est = SATRSearch(**BUDGET, random_state=0, verbose=0 if QUICK else 1)
    est.fit("CartPole-v1")  # maximises the episode return
    print(f"trained {est.n_generations_} generations, {est.env_steps_} env steps, "
          f"{est.wall_time_:.1f} s")
    print(f"last deterministic return during training: {est.history_['return_det'][-1]:.1f}")
    score = est.score("CartPole-v1", n_episodes=5, seed=1)
    print(f"CartPole-v1 score (mean return over 5 new episodes): {score:.1f}")


if __name__ == "__main__":
    main()
