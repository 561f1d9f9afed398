"""Shared parts of the Bernoulli searches (EC, EC+TR, SATR): sampling, signal, diagnostics."""

from __future__ import annotations

import numpy as np

from .base import Strategy, candidate_streams


def bernoulli_kl(p: np.ndarray, q: np.ndarray) -> float:
    """Exact ``KL(Bernoulli(p) || Bernoulli(q))`` summed over elements."""
    return float(np.sum(p * np.log(p / q) + (1.0 - p) * np.log((1.0 - p) / (1.0 - q))))


def bernoulli_entropy(p: np.ndarray) -> float:
    """Mean entropy (nats) of independent Bernoulli(p) elements."""
    return float(np.mean(-(p * np.log(p) + (1.0 - p) * np.log(1.0 - p))))


def local_kl(step: np.ndarray, rho: np.ndarray) -> float:
    """Second-order KL of a move ``step`` from ``rho``: ``1/2 sum step^2 / (rho (1 - rho))``."""
    return float(0.5 * np.sum(step * step / (rho * (1.0 - rho))))


def bernoulli_noise_energy(rho: np.ndarray, weights) -> float:
    """Expected ``||g||^2`` if the weights carried no information about the samples.

    With ``g = (1/N) sum_n w_n (theta_n - rho)`` and the weights independent of the
    ``theta_n ~ Bernoulli(rho)``, ``E[g_i^2] = sum_n w_n^2 / N^2 * rho_i (1 - rho_i)``.
    For centred ranks that is ``(N + 1) / (12 N (N - 1)) * sum_i rho_i (1 - rho_i)``,
    ``D / (48 N)`` at ``rho = 0.5``.
    """
    w = np.asarray(weights, dtype=np.float64)
    return float(w @ w / len(w) ** 2 * np.sum(rho * (1.0 - rho)))


class BernoulliStrategy(Strategy):
    """``theta ~ Bernoulli(rho)`` elementwise, ``rho`` starting at 0.5 and kept in [eps, 1-eps]."""

    binary = True

    def __init__(self, rho_eps: float = 1e-3):
        self.rho_eps = rho_eps

    def init(self, dim, rng):
        return {"rho": np.full(dim, 0.5)}

    def state_spec(self, dim):
        return {"rho": (np.float64, (dim,))}

    def check_state(self, state):
        super().check_state(state)
        rho = state["rho"]
        if np.any(rho < 0) or np.any(rho > 1):
            raise ValueError("the connection probabilities rho must lie in [0, 1].")

    def distribution(self, state):
        return {"rho": state["rho"]}

    def sample(self, dist, seed, sign=1):
        rng, _ = candidate_streams(seed)
        return rng.random(dist["rho"].shape[0], dtype=np.float32) < dist["rho"]

    def signal(self, rho, seeds, weights, samples=None) -> np.ndarray:
        """``g = (1/N) sum_n w_n (theta_n - rho)``.

        ``samples``, when given, holds the candidates as the workers drew them, packed 8 per
        byte (``numpy.packbits(..., axis=1, bitorder="little")``, shape ``(N, ceil(D / 8))``);
        otherwise each theta is regenerated from its seed. Both give the same ``g`` bit for bit.
        """
        return self.signal_and_split(rho, seeds, weights, samples)[0]

    def signal_and_split(self, rho, seeds, weights, samples=None):
        """``g`` (see :meth:`signal`) and the split-half estimate of ``||E g||^2``.

        The estimate is ``<g_A, g_B>``, the inner product of the signals of the first and the
        second half of the population (each the mean over its own candidates): the sampling
        noise of the halves is independent, so unlike ``||g||^2`` it does not grow with the
        noise; it is near 0 when the ranking carries no information and may be negative.
        """
        dim = rho.shape[0]
        if samples is not None and np.shape(samples) != (len(seeds), -(-dim // 8)):
            raise ValueError(f"samples must have shape ({len(seeds)}, {-(-dim // 8)}), got "
                             f"{np.shape(samples)}.")
        n = len(seeds)
        half = n // 2
        acc = np.zeros_like(rho)
        acc_a = acc
        for i, (seed, w) in enumerate(zip(seeds, weights)):
            if w != 0.0:
                theta = (self.sample({"rho": rho}, seed) if samples is None else
                         np.unpackbits(samples[i], count=dim, bitorder="little").view(bool))
                acc += w * theta
            if i + 1 == half:
                acc_a = acc.copy()  # the first half's sum, in the same order as acc
        # sum_n w_n rho is a constant per element: subtract once
        g = (acc - np.sum(weights) * rho) / n
        split = float("nan")
        if half >= 1:
            w = np.asarray(weights, dtype=np.float64)
            g_a = (acc_a - np.sum(w[:half]) * rho) / half
            g_b = (acc - acc_a - np.sum(w[half:]) * rho) / (n - half)
            split = float(g_a @ g_b)
        return g, split

    def step(self, state: dict, g: np.ndarray) -> np.ndarray:
        """The strategy's raw move of ``rho`` (before clipping); may advance optimiser state."""
        raise NotImplementedError

    def update(self, state, seeds, signs, weights, samples=None):
        rho = state["rho"]
        g, split = self.signal_and_split(rho, seeds, weights, samples)
        new = dict(state)
        delta = self.step(new, g)
        new["rho"] = np.clip(rho + delta, self.rho_eps, 1.0 - self.rho_eps)
        energy = float(g @ g)
        noise = bernoulli_noise_energy(rho, weights)
        info = {
            "signal_energy": energy,
            "noise_energy": noise,
            "signal_to_noise": energy / noise if noise > 0 else float("nan"),
            "signal_split": split,
            "kl": bernoulli_kl(new["rho"], rho),
            "mean_p": float(new["rho"].mean()),
            "entropy": bernoulli_entropy(new["rho"]),
        }
        return new, info

    def mode(self, state):
        return state["rho"] > 0.5
