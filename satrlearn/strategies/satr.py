"""Signal-Adaptive Trust Regions: ``rho <- clip(rho + eta * sqrt(rho (1 - rho)) * g)``."""

import numpy as np

from .bernoulli import BernoulliStrategy


class SATR(BernoulliStrategy):
    """SATR step (SPEC section 3).

    The move's local KL is ``eta^2 / 2 * ||g||^2``: the trust region grows with the signal
    energy of the population, so steps are large when candidates agree and small when the
    ranking is noise.
    """

    def __init__(self, eta: float, rho_eps: float = 1e-3, antithetic: bool = False):
        super().__init__(rho_eps, antithetic)
        self.eta = eta

    def step(self, state, g):
        rho = state["rho"]
        return self.eta * np.sqrt(rho * (1.0 - rho)) * g
