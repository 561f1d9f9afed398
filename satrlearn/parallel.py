"""Splitting a population over joblib workers; every seed is drawn in the parent.

A task carries the distribution once and the seeds of its chunk. The worker rebuilds its
candidates from their seeds, so results do not depend on how the population is split.
"""

from __future__ import annotations

import numpy as np
from joblib import delayed

from .rollout import cached_envs, run_episodes
from .strategies.base import candidate_streams

__all__ = ["evaluate_chunk", "evaluate_population"]


def evaluate_chunk(strategy, dist, seeds, signs, labels, source, config, action_map,
                   normalizer, episode_seeds):
    """Worker task: rebuild the chunk's candidates and run them in lockstep."""
    params = np.stack([strategy.sample(dist, s, g) for s, g in zip(seeds, signs)])
    # antithetic twins share their seed, hence their initial membranes: common random numbers
    membrane = [candidate_streams(s)[1] for s in seeds]
    envs = cached_envs(source, len(seeds))
    return run_episodes(config, params, action_map, normalizer, envs, episode_seeds,
                        membrane, labels=labels, obs_shift=normalizer.mean)


def evaluate_population(parallel, n_chunks, strategy, state, seeds, signs, source, config,
                        action_map, normalizer, episode_seeds):
    """Evaluate a whole generation with ``parallel`` (a live ``joblib.Parallel``)."""
    dist = strategy.distribution(state)
    pop = len(seeds)
    bounds = np.linspace(0, pop, min(n_chunks, pop) + 1).astype(int)
    tasks = [
        delayed(evaluate_chunk)(strategy, dist, seeds[a:b], signs[a:b], np.arange(a, b), source,
                                config, action_map, normalizer, episode_seeds)
        for a, b in zip(bounds[:-1], bounds[1:]) if b > a
    ]
    parts = parallel(tasks)
    return {key: np.concatenate([p[key] for p in parts]) for key in
            ("returns", "lengths", "episodes", "obs_sum", "obs_sqsum")} | {
        "obs_shift": parts[0]["obs_shift"]}
