"""Shared parts of the Bernoulli searches (EC, EC+TR, SATR): sampling, signal, diagnostics."""

from __future__ import annotations

import numpy as np

from .._kernels import add_packed
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


def bernoulli_noise_variance(rho: np.ndarray, weights, antithetic: bool = False) -> np.ndarray:
    """Per connection, the variance of ``g_i`` if the weights carried no information.

    With ``g = (1/N) sum_n w_n (theta_n - rho)`` and the weights independent of the
    ``theta_n ~ Bernoulli(rho)``, ``E[g_i^2] = sum_n w_n^2 / N^2 * rho_i (1 - rho_i)``.

    With ``antithetic`` pairs (candidates ``2k`` and ``2k + 1`` drawn from ``u`` and
    ``1 - u``), each pair adds ``2 w_2k w_2k+1 Cov_i / N^2`` where
    ``Cov_i = max(0, 2 rho_i - 1) - rho_i^2`` (``-rho_i (1 - rho_i)`` for ``rho_i <= 0.5``).
    """
    w = np.asarray(weights, dtype=np.float64)
    var = (w @ w) * (rho * (1.0 - rho))
    if antithetic:
        cov = np.maximum(0.0, 2.0 * rho - 1.0) - rho * rho
        var = var + 2.0 * (w[0::2] @ w[1::2]) * cov
    return np.maximum(var, 0.0) / len(w) ** 2


def bernoulli_noise_energy(rho: np.ndarray, weights, antithetic: bool = False) -> float:
    """Expected ``||g||^2`` if the weights carried no information about the samples: the sum
    of :func:`bernoulli_noise_variance`. For centred ranks that is
    ``(N + 1) / (12 N (N - 1)) * sum_i rho_i (1 - rho_i)``, ``D / (48 N)`` at ``rho = 0.5``.
    """
    return float(np.sum(bernoulli_noise_variance(rho, weights, antithetic)))


#: Each generation the signal path keeps ``1 - PATH_DECAY`` of itself: a memory of about 20
#: generations.
PATH_DECAY = 0.05


def signal_path(path: np.ndarray, count: int, g: np.ndarray, noise_variance: np.ndarray,
                decay: float = PATH_DECAY):
    """Advance the signal path by one generation; return ``(path, count, estimate)``.

    Each generation's signal is put in units of its own noise, ``z_i = g_i / sqrt(var_i)``
    (``var`` from :func:`bernoulli_noise_variance`), and added to a decaying sum,
    ``path <- (1 - decay) path + z``. If the ranking carried no information, the ``z`` of
    different generations would be independent with unit variance; a direction that the
    ranking favours generation after generation adds up instead. After ``count``
    generations, ``E ||path||^2 = d A + ||mu||^2 B^2`` with ``d`` the connections that can
    move (``var_i > 0``), ``A = sum_k (1 - decay)^(2k)``, ``B = sum_k (1 - decay)^k``
    (``k < count``) and ``mu = E z`` taken as constant over the memory. The estimate is
    ``(||path||^2 - d A) / (B^2 d)``: the signal energy of one generation as a fraction of
    its noise energy, 0 on average when the ranking is noise (it can be negative), with a
    standard error of about ``decay / sqrt(2 d)`` once the memory is full, where the
    split-half estimate of one generation has one of about ``2 / sqrt(d)``.
    """
    free = noise_variance > 0.0
    z = np.zeros_like(g)
    z[free] = g[free] / np.sqrt(noise_variance[free])
    path = (1.0 - decay) * path + z
    count = int(count) + 1
    return path, count, path_estimate(path, count, int(np.count_nonzero(free)), decay)


def path_estimate(path: np.ndarray, count: int, free=None, decay: float = PATH_DECAY) -> float:
    """The estimate :func:`signal_path` returns, from a path (or a part of one, such as one
    layer's connections) after ``count`` generations; ``free`` is the number of its
    connections that can move (default: all of them). NaN when none can."""
    d = path.size if free is None else int(free)
    if d == 0:
        return float("nan")
    keep = 1.0 - decay
    a = (1.0 - keep ** (2 * count)) / (1.0 - keep * keep)
    b = (1.0 - keep ** count) / decay
    return float((path @ path - d * a) / (b * b * d))


class BernoulliStrategy(Strategy):
    """``theta ~ Bernoulli(rho)`` elementwise, ``rho`` starting at 0.5 and kept in [eps, 1-eps].

    With ``antithetic``, candidates come in pairs drawn from the same uniforms: ``u < rho``
    and ``1 - u < rho`` (at ``rho = 0.5`` the second is the complement of the first), so
    ``theta - rho`` of the pair are negatively correlated, as the pairs ``mu +/- sigma eps``
    of ES are.
    """

    binary = True

    def __init__(self, rho_eps: float = 1e-3, antithetic: bool = False):
        self.rho_eps = rho_eps
        self.antithetic = antithetic

    optional_state_names = ("path", "path_count")

    def init(self, dim, rng):
        return {"rho": np.full(dim, 0.5), **self.optional_state(dim)}

    def optional_state(self, dim):
        return {"path": np.zeros(dim), "path_count": np.zeros((), dtype=np.int64)}

    def state_spec(self, dim):
        return {"rho": (np.float64, (dim,)), "path": (np.float64, (dim,)),
                "path_count": (np.int64, ())}

    def check_state(self, state):
        super().check_state(state)
        rho = state["rho"]
        if np.any(rho < 0) or np.any(rho > 1):
            raise ValueError("the connection probabilities rho must lie in [0, 1].")
        if "path_count" in state and state["path_count"] < 0:
            raise ValueError("the signal path's generation count cannot be negative.")

    def distribution(self, state):
        return {"rho": state["rho"]}

    def candidates(self, rng, pop):
        if not self.antithetic:
            return super().candidates(rng, pop)
        pairs = rng.integers(0, 2**63, size=pop // 2, dtype=np.int64)
        return np.repeat(pairs, 2), np.tile(np.array([1, -1], dtype=np.int8), pop // 2)

    def sample(self, dist, seed, sign=1):
        rng, _ = candidate_streams(seed)
        u = rng.random(dist["rho"].shape[0], dtype=np.float32)
        if sign < 0:  # the antithetic twin: 1 - u < rho
            return u > 1.0 - dist["rho"]
        return u < dist["rho"]

    def signal(self, rho, seeds, weights, samples=None, signs=None) -> np.ndarray:
        """``g = (1/N) sum_n w_n (theta_n - rho)``.

        ``samples``, when given, holds the candidates as the workers drew them, packed 8 per
        byte (``numpy.packbits(..., axis=1, bitorder="little")``, shape ``(N, ceil(D / 8))``);
        otherwise each theta is regenerated from its seed. Both give the same ``g`` bit for bit.
        """
        return self.signal_and_split(rho, seeds, weights, samples, signs)[0]

    def signal_and_split(self, rho, seeds, weights, samples=None, signs=None):
        """``g`` (see :meth:`signal`) and the split-half estimate of ``||E g||^2``.

        The estimate is ``<g_A, g_B>``, the inner product of the signals of the first and the
        second half of the population (each the mean over its own candidates): the sampling
        noise of the halves is independent, so unlike ``||g||^2`` it does not grow with the
        noise; it is near 0 when the ranking carries no information and may be negative.
        Antithetic pairs are kept whole: the first half is the first ``2 (N // 4)``
        candidates. ``signs`` (default all +1) are the candidates' signs, needed to
        regenerate antithetic twins.
        """
        dim = rho.shape[0]
        if samples is not None and np.shape(samples) != (len(seeds), -(-dim // 8)):
            raise ValueError(f"samples must have shape ({len(seeds)}, {-(-dim // 8)}), got "
                             f"{np.shape(samples)}.")
        n = len(seeds)
        half = 2 * (n // 4) if self.antithetic else n // 2
        if signs is None:
            signs = np.ones(n, dtype=np.int8)
        acc = np.zeros_like(rho)
        acc_a = acc
        for i, (seed, sign, w) in enumerate(zip(seeds, signs, weights)):
            if w != 0.0:
                if samples is None:
                    acc += w * self.sample({"rho": rho}, seed, sign)
                else:
                    add_packed(acc, samples[i], float(w))
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
        g, split = self.signal_and_split(rho, seeds, weights, samples, signs)
        new = dict(state)
        variance = bernoulli_noise_variance(rho, weights, self.antithetic)
        path_estimate = float("nan")
        if "path" in state:  # a state built by hand may leave the path out
            new["path"], count, path_estimate = signal_path(state["path"], state["path_count"],
                                                            g, variance)
            new["path_count"] = np.asarray(count, dtype=np.int64)
        delta = self.step(new, g)
        new["rho"] = np.clip(rho + delta, self.rho_eps, 1.0 - self.rho_eps)
        energy = float(g @ g)
        noise = float(np.sum(variance))
        info = {
            "signal_energy": energy,
            "noise_energy": noise,
            "signal_to_noise": energy / noise if noise > 0 else float("nan"),
            "signal_split": split,
            "signal_path": path_estimate,
            "kl": bernoulli_kl(new["rho"], rho),
            "mean_p": float(new["rho"].mean()),
            "entropy": bernoulli_entropy(new["rho"]),
        }
        return new, info

    def mode(self, state):
        return state["rho"] > 0.5
