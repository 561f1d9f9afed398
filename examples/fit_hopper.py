"""Fit a spiking policy on MuJoCo Hopper-v5 with SATR and save it.

    python examples/fit_hopper.py

The full budget uses every core for a while; lower ``pop`` and ``n_generations`` for a first
look. Set SATRLEARN_EXAMPLE_QUICK=1 for a tiny budget (a smoke test).
"""

import os

from satrlearn import SATRSearch

QUICK = os.environ.get("SATRLEARN_EXAMPLE_QUICK") == "1"
BUDGET = dict(pop=8, n_generations=1, n_hidden=32, max_episode_steps=50, n_jobs=1) if QUICK \
    else dict(pop=128, n_generations=100, n_jobs=-1)


def stop_when_good(est, record):
    """A callback: returning False ends the fit after this generation."""
    return record["return_det"] < 3000


def main():
    est = SATRSearch(**BUDGET, random_state=0, verbose=0 if QUICK else 1,
                     callbacks=[stop_when_good])
    est.fit("Hopper-v5")
    print(f"Hopper-v5: best deterministic return {est.best_score_:.1f} after "
          f"{est.n_generations_} generations and {est.env_steps_} env steps")
    path = est.best_policy_.save("hopper_policy.npz")
    print(f"saved the best policy to {path}; try: satrlearn evaluate {path} --env Hopper-v5")


if __name__ == "__main__":
    main()
