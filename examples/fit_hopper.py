"""Fit a spiking policy on MuJoCo Hopper-v5 with SATR and save it.

    python examples/fit_hopper.py

Trains for 10 minutes of wall-clock on every core (``max_time``; ``total_timesteps`` counts
env steps instead). Hopper pays 1 per step for staying up, so the training fitness subtracts
that survival bonus (``reward_offset="auto"``, the default) and the search does not settle
on standing still; every return printed here is the env's own. Set
SATRLEARN_EXAMPLE_QUICK=1 for a tiny budget (a smoke test).
"""

import os

from satrlearn import SATRSearch
from satrlearn.rollout import episode_stats

QUICK = os.environ.get("SATRLEARN_EXAMPLE_QUICK") == "1"
BUDGET = dict(pop=8, n_generations=1, n_hidden=32, max_episode_steps=50, n_jobs=1) if QUICK \
    else dict(max_time=600, n_jobs=-1)


def stop_when_good(est, record):
    """A callback: returning False ends the fit after this generation."""
    return not record["eval_mean"] >= 3000  # NaN (no evaluation this generation) goes on


def main():
    est = SATRSearch(**BUDGET, random_state=0, verbose=0 if QUICK else 1,
                     callbacks=[stop_when_good])
    est.fit("Hopper-v5")
    stats = episode_stats(est.best_policy_, "Hopper-v5", n_episodes=5, seed=123)
    print(f"Hopper-v5: best policy's true return {stats['returns'].mean():.1f} over 5 fresh "
          f"episodes, {stats['distances'].mean():.2f} m travelled, after "
          f"{est.n_generations_} generations and {est.env_steps_} env steps "
          f"(training fitness: return less {est.reward_offset_:g} per step)")
    path = est.best_policy_.save("hopper_policy.npz")
    print(f"saved the best policy to {path}; try: satrlearn evaluate {path} --env Hopper-v5")


if __name__ == "__main__":
    main()
