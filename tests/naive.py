"""A slow, obviously right recurrent spiking network: the twin the kernels are checked against.

One network, unpacked booleans (or real weights), float64, and SPEC section 1 written out line
by line with an explicit loop over the substeps. Nothing here is optimised on purpose: if this
file and a kernel disagree, the kernel is wrong.
"""

from __future__ import annotations

import numpy as np

from satrlearn.network import NetworkConfig


class NaiveRSNN:
    """One RSNN with masks ``w_in (2 n_in, n)``, ``w_h (n, n)``, ``w_out (n, n_out)``.

    Attributes after each :meth:`step`: ``v, i_syn, r`` (float64), ``s`` (bool, last spikes),
    ``spike_train`` (``(S, n)`` bool, the spikes of every substep of that step), and the
    running totals ``spikes`` and ``synaptic_events`` (connections from a spiking neuron that
    carried its spike, counted when the spike arrives, i.e. in the next substep).
    """

    def __init__(self, config: NetworkConfig, w_in, w_h, w_out):
        n = config.n_hidden
        self.config = config
        self.w_in = np.asarray(w_in, dtype=np.float64)
        self.w_h = np.asarray(w_h, dtype=np.float64)
        self.w_out = np.asarray(w_out, dtype=np.float64)
        assert self.w_in.shape == (2 * config.n_in, n)
        assert self.w_h.shape == (n, n)
        assert self.w_out.shape == (n, config.n_out)
        self.exc = np.arange(n) < config.n_exc          # the first n_exc neurons
        self.inh = ~self.exc
        self.reset(seed=0)

    @classmethod
    def from_params(cls, config: NetworkConfig, theta) -> "NaiveRSNN":
        """Build from one flat parameter vector ``[W_in, W_h, W_out]`` (row-major each)."""
        theta = np.asarray(theta)
        a, b, c = config.shapes
        i1 = a[0] * a[1]
        i2 = i1 + b[0] * b[1]
        return cls(config, theta[:i1].reshape(a), theta[i1:i2].reshape(b), theta[i2:].reshape(c))

    def reset(self, seed) -> None:
        """Episode start: ``v ~ U(0, V_th)`` from ``default_rng(seed)``, everything else zero."""
        cfg = self.config
        n = cfg.n_hidden
        self.v = np.random.default_rng(seed).uniform(0.0, cfg.v_th, size=n)
        self.i_syn = np.zeros(n)
        self.r = np.zeros(n)
        self.s = np.zeros(n, dtype=bool)
        self.spike_train = np.zeros((0, n), dtype=bool)
        self.spikes = 0
        self.synaptic_events = 0

    def step(self, x) -> np.ndarray:
        """One environment step with the normalised observation ``x (n_in,)``; returns ``y``."""
        cfg = self.config
        a_syn = np.exp(-cfg.dt / cfg.tau_syn)
        a_m = np.exp(-cfg.dt / cfg.tau_m)
        a_out = np.exp(-cfg.dt / cfg.tau_out)
        sign = np.where(self.exc, 1.0, -1.0)
        x = np.asarray(x, dtype=np.float64)

        i_in = cfg.r_in * (np.concatenate([x, -x]) @ self.w_in)
        train = []
        for _ in range(cfg.substeps):
            s = self.s.astype(np.float64)
            h = cfg.r_h * (s[self.exc] @ self.w_h[self.exc] - s[self.inh] @ self.w_h[self.inh])
            self.synaptic_events += int(np.count_nonzero(self.w_h[self.s]))
            self.i_syn = a_syn * self.i_syn + h
            self.v = a_m * self.v + (1.0 - a_m) * (cfg.v_reset + self.i_syn + i_in)
            self.s = self.v > cfg.v_th
            self.v[self.s] = cfg.v_reset
            s_signed = self.s * sign
            self.r = a_out * self.r + (1.0 - a_out) * (s_signed / cfg.dt)
            self.spikes += int(self.s.sum())
            train.append(self.s.copy())
        self.spike_train = np.array(train)
        return cfg.r_out * (self.r @ self.w_out)
