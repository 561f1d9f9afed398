"""Fitness shaping: pure functions from raw returns to the weights the updates use."""

import numpy as np
from scipy.stats import rankdata

__all__ = ["centered_ranks"]


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
