"""The network engine: ``K`` binary (or real) spiking networks advanced in lockstep, and the
mapping from their readouts to environment actions.

:class:`NetworkBatch` is what rollouts and :class:`~satrlearn.RSNNPolicy` both call; it holds
the packed masks, the state of every network and the scratch the kernels of
:mod:`satrlearn._kernels` need. :class:`ActionMap` turns readouts into actions of a Box or
Discrete space.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from . import _kernels
from .network import NetworkConfig, pack_hidden, pack_inputs, split_params

__all__ = ["ActionMap", "NetworkBatch"]


class NetworkBatch:
    """``K`` networks with their own weights and state, advanced together one env step at a time.

    Parameters
    ----------
    config : NetworkConfig
    params : ndarray of shape (K, n_params) or (n_params,)
        Flat connections ``[W_in, W_h, W_out]``. Boolean (binary masks, run by the bitset
        kernel) or real-valued (ES weights, run by the event-driven float kernel). A 1-D
        vector is shared by ``k`` rows without copying.
    k : int, optional
        Number of rows when ``params`` is 1-D.

    Notes
    -----
    Binary masks are stored at 1 bit per connection: ``W_in`` byte-packed over the inputs
    (:func:`~satrlearn.network.pack_inputs`), ``W_h`` word-packed over the presynaptic neurons
    (:func:`~satrlearn.network.pack_hidden`); ``W_out`` is float32. Real weights are float32
    (the folded input matrix float64 when float32 would round it). The last spikes ``s`` are
    packed ``(K, n_words)`` uint64 for both kernels; ``v``, ``i_syn``, ``r`` are float64.
    """

    def __init__(self, config: NetworkConfig, params: np.ndarray, k: int | None = None):
        self.config = config
        params = np.asarray(params)
        if params.ndim == 1:
            shared, k = params[None], int(k or 1)
        elif params.ndim == 2:
            shared, k = None, params.shape[0]
        else:
            raise ValueError(f"params must be 1-D or 2-D, got shape {params.shape}.")
        src = params[None] if shared is not None else params
        if src.shape[-1] != config.n_params:
            raise ValueError(
                f"params have {src.shape[-1]} entries per network, the network needs "
                f"{config.n_params}."
            )
        self.binary = src.dtype == np.bool_
        w_in, w_h, w_out = split_params(src, config)
        n_in, n = config.n_in, config.n_hidden
        if self.binary:
            # 1 bit per connection: byte-packed inputs, word-packed recurrent columns
            win = pack_inputs(w_in, config)
            wh = pack_hidden(w_h, config)
            h = np.zeros(0)
        else:
            # [x, -x] @ W_in == x @ (W_in[:n_in] - W_in[n_in:]): half the input work. The
            # folded matrix is float32 when that is exact (0/1 values), float64 otherwise.
            w_pos = w_in[:, :n_in].astype(np.float32)
            w_neg = w_in[:, n_in:].astype(np.float32)
            win = w_pos - w_neg
            win64 = w_pos.astype(np.float64) - w_neg
            if not np.array_equal(win64, win):
                win = win64
            win = np.ascontiguousarray(win)
            wh = np.ascontiguousarray(w_h, dtype=np.float32)
            # float32 sums of 0/1 weights are exact integers; real weights sum in float64
            h = np.zeros(n, dtype=np.float32 if np.isin(wh, (0.0, 1.0)).all() else np.float64)
        wout = np.ascontiguousarray(w_out, dtype=np.float32)
        outdeg = np.count_nonzero(w_h, axis=2).astype(np.int64)
        if shared is not None:
            win, wh, wout, outdeg = (np.broadcast_to(a, (k,) + a.shape[1:])
                                     for a in (win, wh, wout, outdeg))
        self.win, self.wh, self.wout = win, wh, wout
        self._outdeg = outdeg
        self.k = k
        self.v = np.zeros((k, n))
        self.i_syn = np.zeros((k, n))
        self.r = np.zeros((k, n))
        self.s = np.zeros((k, config.n_words), dtype=np.uint64)
        self.y = np.zeros((k, config.n_out))
        self.counts = np.zeros((k, 2), dtype=np.int64)
        self._c = config.kernel_constants()
        self._sizes = (config.n_exc, config.exc_words, config.substeps)
        a_out = config.decays[2]
        self._decay = a_out ** np.arange(config.substeps - 1, -1, -1, dtype=np.float64)
        self._i_in = np.zeros(n)
        self._cnt = np.zeros(n, dtype=np.int64)
        self._h = h
        self._table = np.zeros(256)
        self._racc = np.zeros(n)
        self._spk = np.zeros(64 * config.n_words, dtype=np.uint8)
        self._spiking = np.zeros(n, dtype=np.int64)
        self._all = np.ones(k, dtype=bool)

    def reset(self, rows=None, seeds=None) -> None:
        """Start episodes in ``rows`` (all by default): ``v ~ U(0, V_th)`` seeded per row."""
        rows = range(self.k) if rows is None else rows
        for q, row in enumerate(rows):
            seed = None if seeds is None else seeds[q]
            self.v[row] = np.random.default_rng(seed).uniform(
                0.0, self.config.v_th, size=self.config.n_hidden)
            self.i_syn[row] = 0.0
            self.r[row] = 0.0
            self.s[row] = 0
            self.counts[row] = 0

    def step(self, x: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
        """Advance the ``active`` rows with normalised inputs ``x (K, n_in)``; returns ``y``."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.shape != (self.k, self.config.n_in):
            raise ValueError(
                f"expected inputs of shape {(self.k, self.config.n_in)}, got {x.shape}.")
        if active is None:
            active = self._all
        else:
            active = np.ascontiguousarray(active, dtype=bool)
            if active.shape != (self.k,):
                raise ValueError(f"active must have shape ({self.k},), got {active.shape}.")
        return self._step(x, active)

    def _step(self, x: np.ndarray, active: np.ndarray) -> np.ndarray:
        """:meth:`step` without its checks: ``x`` C-contiguous float64 ``(K, n_in)``,
        ``active`` C-contiguous bool ``(K,)`` (the lockstep loop's own buffers)."""
        n_exc, exc_words, substeps = self._sizes
        if self.binary:
            _kernels.bitset_step(x, self.win, self.wh, self.wout, self._outdeg, self.v,
                                 self.i_syn, self.r, self.s, active, self._c, n_exc,
                                 exc_words, substeps, self.y, self.counts, self._i_in,
                                 self._cnt, self._table, self._racc, self._spk, self._decay)
        else:
            _kernels.float_step(x, self.win, self.wh, self.wout, self._outdeg, self.v,
                                self.i_syn, self.r, self.s, active, self._c, n_exc,
                                exc_words, substeps, self.y, self.counts, self._i_in,
                                self._h, self._racc, self._spk, self._decay, self._spiking)
        return self.y


class ActionMap:
    """Readout ``y`` to environment action: Box -> clip to [-1, 1] and rescale; Discrete -> argmax.

    Box dimensions with an infinite bound get the clipped value itself.
    """

    def __init__(self, space: gym.Space):
        if isinstance(space, gym.spaces.Box):
            if not np.issubdtype(space.dtype, np.floating):
                raise TypeError(
                    f"Box action spaces must hold floats, got dtype {space.dtype}; use a "
                    "Discrete space or an ActionWrapper that maps to one.")
            self.kind = "box"
            self.shape = tuple(space.shape)
            self.dtype = space.dtype
            self.low = np.asarray(space.low, dtype=np.float64).ravel()
            self.high = np.asarray(space.high, dtype=np.float64).ravel()
            self.n_out = int(np.prod(self.shape)) if self.shape else 1
            finite = np.isfinite(self.low) & np.isfinite(self.high)
            self._finite = finite
            low = np.where(finite, self.low, 0.0)
            high = np.where(finite, self.high, 0.0)
            self._mid = np.where(finite, (high + low) / 2.0, 0.0)
            self._half = np.where(finite, (high - low) / 2.0, 1.0)
            # the compiled mapping writes float32/float64 only (numpy handles the rest)
            self._compiled = self.dtype in (np.float32, np.float64)
        elif isinstance(space, gym.spaces.Discrete):
            self.kind = "discrete"
            self.n = int(space.n)
            self.start = int(space.start)
            self.n_out = self.n
        else:
            raise TypeError(
                f"unsupported action space {space!r}: satrlearn supports Box (continuous) and "
                "Discrete actions. Wrap the environment (e.g. flatten a Dict/Tuple space or map "
                "MultiDiscrete to Discrete) so that it exposes one of them.")
        self.space = space

    def __call__(self, y: np.ndarray):
        """Map readouts ``y (B, n_out)`` to a batch of actions."""
        if self.kind == "box":
            if self._compiled and y.dtype == np.float64:
                a = np.empty(y.shape, dtype=self.dtype)
                _kernels.box_actions(y, self._mid, self._half, a)
            else:
                a = (self._mid + self._half * np.clip(y, -1.0, 1.0)).astype(self.dtype)
            return a.reshape((y.shape[0],) + self.shape)
        return (np.argmax(y, axis=1) + self.start).astype(np.int64)

    def to_dict(self) -> dict:
        if self.kind == "box":
            return {"type": "Box", "shape": list(self.shape), "dtype": str(np.dtype(self.dtype)),
                    "low": self.low.tolist(), "high": self.high.tolist()}
        return {"type": "Discrete", "n": self.n, "start": self.start}

    @classmethod
    def from_dict(cls, d: dict) -> "ActionMap":
        if not isinstance(d, dict):
            raise ValueError(f"an action space description is a JSON object, got {d!r}.")
        if d.get("type") == "Box":
            shape = tuple(d["shape"])
            dtype = np.dtype(d["dtype"])
            # the bounds were saved from the space's own dtype: casting back is exact
            low = np.array(d["low"], dtype=np.float64).reshape(shape).astype(dtype)
            high = np.array(d["high"], dtype=np.float64).reshape(shape).astype(dtype)
            return cls(gym.spaces.Box(low, high, shape=shape, dtype=dtype))
        if d.get("type") == "Discrete":
            return cls(gym.spaces.Discrete(int(d["n"]), start=int(d["start"])))
        raise ValueError(f"unknown action space description {d!r}.")
