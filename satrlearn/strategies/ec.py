"""Evolving Connectivity: Adam ascent on the Bernoulli probabilities, optionally KL-scaled."""

import numpy as np

from .base import adam_direction, adam_spec, check_adam
from .bernoulli import BernoulliStrategy, local_kl


class EC(BernoulliStrategy):
    """EC step (SPEC section 3); with ``trust_region`` set, the EC+TR ablation.

    EC+TR rescales the Adam step so that its local KL ``1/2 sum d^2 / (rho (1 - rho))``
    equals the fixed budget ``trust_region``.
    """

    def __init__(self, learning_rate: float, trust_region=None, beta1: float = 0.9,
                 beta2: float = 0.999, rho_eps: float = 1e-3, antithetic: bool = False):
        super().__init__(rho_eps, antithetic)
        self.learning_rate = learning_rate
        self.trust_region = trust_region
        self.beta1 = beta1
        self.beta2 = beta2

    def init(self, dim, rng):
        state = super().init(dim, rng)
        state.update(m=np.zeros(dim), v=np.zeros(dim), t=np.zeros((), dtype=np.int64))
        return state

    def state_spec(self, dim):
        return {**super().state_spec(dim), **adam_spec(dim)}

    def check_state(self, state):
        super().check_state(state)
        check_adam(state)

    def step(self, state, g):
        step = self.learning_rate * adam_direction(state, g, self.beta1, self.beta2)
        if self.trust_region is not None:
            kl = local_kl(step, state["rho"])
            if kl > 0.0:
                step = step * np.sqrt(self.trust_region / kl)
        return step
