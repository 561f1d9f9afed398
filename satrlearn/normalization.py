"""Running observation moments: per-worker accumulation and a pure merge (Chan et al.)."""

from __future__ import annotations

import numpy as np

__all__ = ["Moments", "merge_moments", "ObservationNormalizer"]


class Moments:
    """Count, mean and sum of squared deviations (M2) of a stream of vectors.

    ``update`` folds in a batch; :func:`merge_moments` combines two accumulators exactly as if
    their data had been seen together (Chan's parallel update).
    """

    __slots__ = ("count", "mean", "m2")

    def __init__(self, dim: int, count=0.0, mean=None, m2=None):
        self.count = float(count)
        self.mean = np.zeros(dim) if mean is None else np.asarray(mean, dtype=np.float64)
        self.m2 = np.zeros(dim) if m2 is None else np.asarray(m2, dtype=np.float64)

    def update(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, dtype=np.float64)
        if batch.shape[0] == 0:
            return
        mean = batch.mean(axis=0)
        m2 = ((batch - mean) ** 2).sum(axis=0)
        merged = merge_moments(self, Moments(batch.shape[1], batch.shape[0], mean, m2))
        self.count, self.mean, self.m2 = merged.count, merged.mean, merged.m2

    @property
    def var(self) -> np.ndarray:
        return self.m2 / self.count if self.count > 0 else np.ones_like(self.mean)

    def as_tuple(self):
        return self.count, self.mean, self.m2


def merge_moments(a: Moments, b: Moments) -> Moments:
    """Combine two accumulators (pure; neither input is changed)."""
    if b.count == 0:
        return Moments(a.mean.shape[0], a.count, a.mean.copy(), a.m2.copy())
    if a.count == 0:
        return Moments(b.mean.shape[0], b.count, b.mean.copy(), b.m2.copy())
    n = a.count + b.count
    delta = b.mean - a.mean
    mean = a.mean + delta * (b.count / n)
    m2 = a.m2 + b.m2 + delta ** 2 * (a.count * b.count / n)
    return Moments(a.mean.shape[0], n, mean, m2)


class ObservationNormalizer:
    """Frozen ``(obs - mean) / sqrt(var + eps)``, clipped to ``[-clip, clip]``.

    It starts as the identity (mean 0, variance 1) until moments are merged in.
    """

    def __init__(self, dim: int, clip: float = 10.0, eps: float = 1e-8):
        self.moments = Moments(dim)
        self.clip = float(clip)
        self.eps = float(eps)
        self._refresh()

    def _refresh(self):
        self.mean = self.moments.mean.copy() if self.moments.count > 0 else np.zeros_like(
            self.moments.mean)
        self.scale = 1.0 / np.sqrt(self.moments.var + self.eps)

    def merge(self, other: Moments) -> None:
        self.moments = merge_moments(self.moments, other)
        self._refresh()

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(obs, dtype=np.float64) - self.mean) * self.scale,
                       -self.clip, self.clip)

    def state_arrays(self) -> dict:
        return {"obs_count": np.array([self.moments.count]), "obs_mean": self.moments.mean,
                "obs_m2": self.moments.m2, "obs_clip": np.array([self.clip]),
                "obs_eps": np.array([self.eps])}

    @classmethod
    def from_arrays(cls, arrays) -> "ObservationNormalizer":
        mean = np.asarray(arrays["obs_mean"], dtype=np.float64)
        norm = cls(mean.shape[0], float(arrays["obs_clip"][0]), float(arrays["obs_eps"][0]))
        norm.moments = Moments(mean.shape[0], float(arrays["obs_count"][0]), mean,
                               np.asarray(arrays["obs_m2"], dtype=np.float64))
        norm._refresh()
        return norm

    def copy(self) -> "ObservationNormalizer":
        return ObservationNormalizer.from_arrays(self.state_arrays())
