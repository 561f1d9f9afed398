"""Fitness shaping: pure functions from raw returns to the weights the updates use.

Two steps turn the returns of a generation into update weights:

1. the **training fitness** subtracts a per-step reward offset from each candidate's return
   (:func:`shaped_fitness`), so that a survival bonus paid for every step alive does not make
   standing still until the time limit the best strategy (ARS's ``shift``);
2. **centred ranks** of that fitness (:func:`centered_ranks`) are the weights.

Neither changes what the library reports: history, ``score``, best policies, plots and the
command line all show the environment's own (true) return.
"""

import math
import numbers

import numpy as np
from scipy.stats import rankdata

__all__ = ["centered_ranks", "survival_bonus", "shaped_fitness", "offset_at",
           "OFFSET_SCHEDULES"]

#: How the reward offset changes over a fit: ``"constant"`` keeps it, ``"linear"`` lowers it
#: linearly to 0 at the end of the budget (the fitness becomes the true return by the end),
#: ``"survival"`` scales it by the share of the time limit the generation's episodes last.
OFFSET_SCHEDULES = ("constant", "linear", "survival")
#: ``"survival"``: the share of the time limit that the episodes must last on average for the
#: whole offset to apply; below it the offset shrinks in proportion. At 1 the population
#: settles on standing still (Hopper-v5, Walker2d-v5: docs/tuning.md); at a quarter the
#: offset is whole before standing pays
SURVIVAL_FULL_SHARE = 0.25


def centered_ranks(returns) -> np.ndarray:
    """Centred ranks ``rank / (N - 1) - 0.5`` in ``[-0.5, 0.5]``, ties averaged (SPEC section 3).

    Higher returns get higher weights: satrlearn maximises.

    Examples
    --------
    >>> centered_ranks([10.0, -1.0, 3.0, 3.0]).tolist()
    [0.5, -0.5, 0.0, 0.0]
    """
    returns = np.asarray(returns, dtype=np.float64)
    if returns.ndim != 1 or returns.size < 2:
        raise ValueError(f"need a 1-D array of at least 2 returns, got shape {returns.shape}.")
    if not np.all(np.isfinite(returns)):
        raise ValueError("returns contain NaN or inf.")
    ranks = rankdata(returns, method="average") - 1.0
    return ranks / (returns.size - 1) - 0.5


def survival_bonus(env) -> float:
    """The per-step survival bonus of ``env``, or 0 when it pays none (``reward_offset="auto"``).

    Gymnasium's MuJoCo locomotion tasks that end an episode when the body falls (Hopper,
    Walker2d, Ant, Humanoid; any version) pay ``healthy_reward`` for every step alive: 1, or 5
    on Humanoid, unless the user built the env with another value, which is then the one read.
    Everything else gets 0, including tasks whose whole reward is staying alive (CartPole,
    InvertedPendulum, InvertedDoublePendulum): taking that bonus away would reward falling.
    """
    base = getattr(env, "unwrapped", env)
    bonus = getattr(base, "_healthy_reward", None)
    if not getattr(base, "_terminate_when_unhealthy", False) \
            or not isinstance(bonus, numbers.Real) or not math.isfinite(bonus):
        return 0.0
    return max(float(bonus), 0.0)  # a penalty for being alive is no bonus to take away


def shaped_fitness(returns, lengths, n_episodes, offset) -> np.ndarray:
    """Training fitness: mean return per episode less ``offset`` for every step taken.

    Parameters
    ----------
    returns : array (N,), mean true return per episode of each candidate.
    lengths : array (N,), total environment steps of each candidate over its episodes.
    n_episodes : int, episodes per candidate.
    offset : float, reward subtracted per step.

    Examples
    --------
    >>> shaped_fitness([1000.0, 900.0], [1000, 300], 1, 1.0).tolist()
    [0.0, 600.0]
    """
    returns = np.asarray(returns, dtype=np.float64)
    if offset == 0.0:
        return returns
    return returns - offset * np.asarray(lengths, dtype=np.float64) / n_episodes


def offset_at(offset, schedule, progress, survival=1.0) -> float:
    """The offset to apply when ``progress`` (0 to 1) of the budget is used.

    ``survival`` (0 to 1) is the share of the episode time limit that the generation's
    episodes lasted on average; only ``"survival"`` reads it, and scales the offset by
    ``survival / SURVIVAL_FULL_SHARE`` up to 1. While the candidates fall within a few steps,
    that schedule keeps most of the survival bonus in the fitness, so lasting longer is still
    a signal; once the episodes last a quarter of the time limit, it takes the whole bonus
    away, so standing still is no longer the easy high fitness.

    Examples
    --------
    >>> offset_at(1.0, "constant", 0.5), offset_at(1.0, "linear", 0.25)
    (1.0, 0.75)
    >>> offset_at(1.0, "survival", 0.5, survival=0.02), offset_at(1.0, "survival", 0.5, 0.5)
    (0.08, 1.0)
    """
    if schedule == "constant":
        return float(offset)
    if schedule == "linear":
        return float(offset) * (1.0 - min(max(float(progress), 0.0), 1.0))
    if schedule == "survival":
        return float(offset) * min(max(float(survival) / SURVIVAL_FULL_SHARE, 0.0), 1.0)
    raise ValueError(f"offset_schedule must be one of {OFFSET_SCHEDULES}, got {schedule!r}.")
