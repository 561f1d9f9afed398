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

    @staticmethod
    def array_shapes(dim: int) -> dict:
        """Names of the arrays of :meth:`state_arrays`, with their shapes for ``dim`` inputs."""
        return {"obs_count": (1,), "obs_mean": (dim,), "obs_m2": (dim,), "obs_clip": (1,),
                "obs_eps": (1,)}

    @classmethod
    def from_arrays(cls, arrays, dim=None) -> "ObservationNormalizer":
        """The normaliser saved by :meth:`state_arrays`, validated.

        Raises
        ------
        ValueError
            When an array is missing, has the wrong shape, or holds a value no normaliser can
            have (NaN or inf moments, a negative count or variance, a clip or eps <= 0).
        """
        if dim is None:
            dim = int(np.shape(arrays["obs_mean"])[0]) if np.ndim(arrays["obs_mean"]) else -1
        got = {}
        for name, shape in cls.array_shapes(dim).items():
            if name not in arrays:
                raise ValueError(f"the observation normaliser lacks {name!r}.")
            a = np.asarray(arrays[name])
            if a.shape != shape or not (np.issubdtype(a.dtype, np.floating)
                                        or np.issubdtype(a.dtype, np.integer)):
                raise ValueError(
                    f"the normaliser's {name} is {a.dtype} {a.shape}, expected a float array "
                    f"of shape {shape}.")
            got[name] = a.astype(np.float64)
        count, clip, eps = got["obs_count"][0], got["obs_clip"][0], got["obs_eps"][0]
        if not (np.isfinite(count) and count >= 0):
            raise ValueError(f"the normaliser's count must be >= 0, got {count}.")
        if not (np.all(np.isfinite(got["obs_mean"])) and np.all(np.isfinite(got["obs_m2"]))):
            raise ValueError("the normaliser's mean or M2 holds NaN or inf values.")
        if np.any(got["obs_m2"] < 0):
            raise ValueError("the normaliser's M2 (sum of squared deviations) is negative.")
        if not clip > 0:
            raise ValueError(f"the normaliser's clip must be > 0, got {clip}.")
        if not (np.isfinite(eps) and eps > 0):
            raise ValueError(f"the normaliser's eps must be a finite number > 0, got {eps}.")
        norm = cls(dim, float(clip), float(eps))
        norm.moments = Moments(dim, float(count), got["obs_mean"], got["obs_m2"])
        norm._refresh()
        return norm

    def copy(self) -> "ObservationNormalizer":
        return ObservationNormalizer.from_arrays(self.state_arrays())
