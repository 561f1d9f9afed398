"""What every search distribution supplies to the fit loop."""

from __future__ import annotations

import numpy as np


def candidate_streams(seed):
    """Independent generators for a candidate's sample and for its initial membrane states."""
    sample_ss, membrane_ss = np.random.SeedSequence(int(seed)).spawn(2)
    return np.random.default_rng(sample_ss), np.random.default_rng(membrane_ss)


class Strategy:
    """A search distribution over the flat parameter vector of the network.

    A strategy is stateless apart from its hyperparameters; the distribution lives in a dict of
    arrays (``state``) owned by the estimator, so it can be sent to workers, checkpointed and
    resumed. Subclasses implement :meth:`init`, :meth:`sample`, :meth:`update` and
    :meth:`mode`; the fit loop does everything else.
    """

    binary = True
    """True when samples are binary masks (bitset kernel), False for real weights."""

    optional_state_names: tuple = ()
    """State arrays that files written by older versions may lack (see :meth:`optional_state`)."""

    def init(self, dim: int, rng: np.random.Generator) -> dict:
        """The initial state ``{name: array}`` of a search over ``dim`` parameters."""
        raise NotImplementedError

    def state_spec(self, dim: int) -> dict:
        """``{name: (dtype, shape)}`` of the arrays of :meth:`init`'s state, without building it.

        Checkpoint readers use it to check a file's members before reading them.
        """
        raise NotImplementedError

    def optional_state(self, dim: int) -> dict:
        """The starting values of the :attr:`optional_state_names` arrays, used when a file
        written before they existed is read."""
        return {}

    def check_state(self, state: dict) -> None:
        """Raise ``ValueError`` when ``state`` holds values this distribution cannot have.

        The base check: every array finite. Subclasses add their own bounds.
        """
        for name, a in state.items():
            if not np.all(np.isfinite(a)):
                raise ValueError(f"the search state {name!r} holds NaN or inf values.")

    def candidates(self, rng: np.random.Generator, pop: int):
        """Seeds and signs of a generation's candidates, drawn in the parent."""
        seeds = rng.integers(0, 2**63, size=pop, dtype=np.int64)
        return seeds, np.ones(pop, dtype=np.int8)

    def distribution(self, state: dict) -> dict:
        """The part of ``state`` that workers need to rebuild candidates."""
        raise NotImplementedError

    def sample(self, dist: dict, seed, sign) -> np.ndarray:
        """Rebuild one candidate from its seed (and sign, for antithetic sampling)."""
        raise NotImplementedError

    def update(self, state: dict, seeds, signs, weights, samples=None) -> tuple[dict, dict]:
        """New state from centred-rank ``weights``; also returns diagnostics.

        ``samples`` are the candidates as the workers drew them, in the form
        :meth:`pack_samples` gives (None: regenerate them from their seeds).

        Diagnostics: ``signal_energy`` (squared norm of the population signal),
        ``noise_energy`` (its expected value if the weights carried no information about the
        candidates), ``signal_to_noise`` (their ratio), ``kl`` (exact KL divergence of the
        new distribution from the old one), ``mean_p`` and ``entropy``.
        """
        raise NotImplementedError

    def mode(self, state: dict) -> np.ndarray:
        """The deterministic network of the distribution."""
        raise NotImplementedError

    def pack_samples(self, params: np.ndarray):
        """What a worker sends back of its candidates ``params (n, D)`` so that :meth:`update`
        need not regenerate them; None when regenerating is as cheap as sending.

        Binary masks travel packed, 8 connections per byte.
        """
        if not self.binary:
            return None
        return np.packbits(params, axis=1, bitorder="little")


def stored_state_spec(strategy: Strategy, dim: int, names=None) -> dict:
    """``{name: (dtype, shape)}`` of the state arrays a file holds.

    ``names`` is the list of state arrays the file's meta declares (files written since
    optional arrays exist declare it); without it, the file predates the optional arrays
    (:attr:`Strategy.optional_state_names`) and holds the others.
    """
    spec = strategy.state_spec(dim)
    optional = set(strategy.optional_state_names)
    if names is None:
        return {k: v for k, v in spec.items() if k not in optional}
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"state_names must be a list of strings, got {names!r}.")
    unknown = sorted(set(names) - set(spec))
    missing = sorted(set(spec) - optional - set(names))
    if unknown or missing:
        raise ValueError(f"the file declares state arrays {sorted(names)}; this search has "
                         f"{sorted(spec)} (unknown: {unknown}, missing: {missing})")
    return {k: v for k, v in spec.items() if k in names}


def adam_spec(dim: int) -> dict:
    """State arrays of :func:`adam_direction`: first and second moments and the step count."""
    return {"m": (np.float64, (dim,)), "v": (np.float64, (dim,)), "t": (np.int64, ())}


def check_adam(state: dict) -> None:
    """Adam's second moments and step count cannot be negative."""
    if np.any(state["v"] < 0) or state["t"] < 0:
        raise ValueError("the Adam state has a negative second moment or step count.")


def adam_direction(state: dict, g: np.ndarray, beta1: float, beta2: float,
                   eps: float = 1e-8) -> np.ndarray:
    """Bias-corrected Adam direction for ascent on ``g``; advances the moments in ``state``."""
    t = state["t"] + 1
    m = beta1 * state["m"] + (1.0 - beta1) * g
    v = beta2 * state["v"] + (1.0 - beta2) * g * g
    state.update(t=t, m=m, v=v)
    m_hat = m / (1.0 - beta1 ** t)
    v_hat = v / (1.0 - beta2 ** t)
    return m_hat / (np.sqrt(v_hat) + eps)
