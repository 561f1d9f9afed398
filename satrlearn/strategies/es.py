"""Gaussian evolution strategies on the real-valued network, antithetic, with AdamW."""

import numpy as np

from .base import Strategy, adam_direction, adam_spec, candidate_streams, check_adam


class ES(Strategy):
    """``w = mu + sign * sigma * eps`` with ``eps ~ N(0, I)`` shared by each antithetic pair.

    The gradient estimate is ``1 / (N sigma) * sum_n w_n sign_n eps_n``; ``mu`` moves by an
    Adam step of size ``learning_rate`` with decoupled weight decay (AdamW).
    """

    binary = False

    def __init__(self, sigma: float, learning_rate: float, weight_decay: float,
                 beta1: float = 0.9, beta2: float = 0.999):
        self.sigma = sigma
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.beta1 = beta1
        self.beta2 = beta2

    def init(self, dim, rng):
        return {"mu": np.zeros(dim), "m": np.zeros(dim), "v": np.zeros(dim),
                "t": np.zeros((), dtype=np.int64)}

    def state_spec(self, dim):
        return {"mu": (np.float64, (dim,)), **adam_spec(dim)}

    def check_state(self, state):
        super().check_state(state)
        check_adam(state)

    def candidates(self, rng, pop):
        pairs = rng.integers(0, 2**63, size=pop // 2, dtype=np.int64)
        seeds = np.repeat(pairs, 2)
        signs = np.tile(np.array([1, -1], dtype=np.int8), pop // 2)
        return seeds, signs

    def distribution(self, state):
        return {"mu": state["mu"], "sigma": self.sigma}

    def _noise(self, seed, dim):
        rng, _ = candidate_streams(seed)
        return rng.standard_normal(dim, dtype=np.float32)

    def sample(self, dist, seed, sign=1):
        mu = dist["mu"]
        return (mu + sign * dist["sigma"] * self._noise(seed, mu.shape[0])).astype(np.float32)

    def update(self, state, seeds, signs, weights, samples=None):
        mu = state["mu"]
        acc = np.zeros_like(mu)
        n = len(seeds)
        diff_sq = 0.0
        half = 2 * (n // 4)  # the first half of the pairs, for the split-half estimate
        acc_a = acc
        for i in range(0, n, 2):  # antithetic pairs share their noise
            diff = weights[i] * signs[i] + weights[i + 1] * signs[i + 1]
            diff_sq += diff * diff
            if diff != 0.0:
                acc += diff * self._noise(seeds[i], mu.shape[0])
            if i + 2 == half:
                acc_a = acc.copy()
        g = acc / (n * self.sigma)
        # <g_A, g_B> of the two halves of the pairs: an estimate of ||E g||^2 whose sampling
        # noise does not add up (see BernoulliStrategy.signal_and_split)
        split = (float((acc_a / (half * self.sigma)) @ ((acc - acc_a) / ((n - half) * self.sigma)))
                 if half >= 2 else float("nan"))
        new = dict(state)
        step = self.learning_rate * adam_direction(new, g, self.beta1, self.beta2)
        new["mu"] = mu + step - self.learning_rate * self.weight_decay * mu
        d = new["mu"] - mu
        energy = float(g @ g)
        # weights independent of the noise: E||g||^2 = D sum_pairs diff^2 / (N sigma)^2
        noise = mu.shape[0] * diff_sq / (n * self.sigma) ** 2
        info = {
            "signal_energy": energy,
            "noise_energy": noise,
            "signal_to_noise": energy / noise if noise > 0 else float("nan"),
            "signal_split": split,
            "kl": float(d @ d / (2.0 * self.sigma ** 2)),
            "mean_p": float(np.mean(np.abs(new["mu"]))),
            "entropy": float(0.5 * np.log(2.0 * np.pi * np.e * self.sigma ** 2)),
        }
        return new, info

    def mode(self, state):
        return state["mu"].astype(np.float32)
