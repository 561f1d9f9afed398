"""The binary recurrent spiking network: sizes, constants, bit packing and a float reference.

Everything here follows the method reference (SPEC sections 1-2). The hot path lives in
:mod:`satrlearn._kernels`; this module holds what describes the network and the plain,
dense numpy forward pass that the kernels are checked against.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = [
    "MAX_PARAMS",
    "MAX_SUBSTEPS",
    "NetworkConfig",
    "pack_hidden",
    "unpack_hidden",
    "pack_spikes",
    "unpack_spikes",
    "pack_inputs",
    "unpack_inputs",
    "pack_bits",
    "unpack_bits",
    "split_params",
    "float_step",
]


#: Largest number of connections a network may have (2**28: 256 MiB as booleans, 32 MiB packed).
MAX_PARAMS = 2**28
#: Largest number of LIF substeps per environment step (the default is 33).
MAX_SUBSTEPS = 10_000


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """Sizes and constants of a recurrent spiking network (SPEC section 1).

    Parameters
    ----------
    n_in, n_out : int
        Observation and action (readout) sizes.
    n_hidden : int, default=256
        Number of spiking neurons.
    excitatory_ratio : float, default=0.5
        The first ``round(n_hidden * excitatory_ratio)`` neurons are excitatory, the rest
        inhibitory (Dale's law fixes the sign of their outgoing connections).
    expected_density : float, default=0.5
        Connection probability ``p`` used by the variance-preserving magnitudes.
    dt, sim_time, tau_syn, tau_m, tau_out : float
        Time step and time constants in milliseconds. ``round(sim_time / dt)`` LIF substeps
        run per environment step (33 by default).
    v_th, v_reset : float
        Firing threshold and reset potential.
    k_in, k_h, k_out : float, default=0.3, 1.0, 5.0
        Gains of the input, recurrent and output magnitudes. ``k_in`` is three times the
        EC paper's 0.1: at 0.1 the input current of a normalised observation near the
        starting pose stays under the threshold for nearly every neuron, and a trained
        network can stay silent for a whole episode (docs/concepts.md, "The input gain").

    Examples
    --------
    >>> cfg = NetworkConfig(n_in=11, n_out=3)
    >>> cfg.substeps, cfg.n_exc, cfg.n_params
    (33, 128, 71936)
    """

    n_in: int
    n_out: int
    n_hidden: int = 256
    excitatory_ratio: float = 0.5
    expected_density: float = 0.5
    dt: float = 0.5
    sim_time: float = 16.6
    tau_syn: float = 5.0
    tau_m: float = 10.0
    tau_out: float = 10.0
    v_th: float = 1.0
    v_reset: float = 0.0
    k_in: float = 0.3
    k_h: float = 1.0
    k_out: float = 5.0

    def __post_init__(self):
        for name in ("n_in", "n_out", "n_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
            # plain Python numbers: the settings go to JSON in the policy file
            object.__setattr__(self, name, int(value))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (np.floating, np.integer)) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
            elif isinstance(value, str):
                raise ValueError(f"{f.name} must be a number, got {value!r}.")
        if not 0.0 <= self.excitatory_ratio <= 1.0:
            raise ValueError(
                f"excitatory_ratio must lie in [0, 1], got {self.excitatory_ratio!r}."
            )
        if not 0.0 < self.expected_density <= 1.0:
            raise ValueError(
                f"expected_density must lie in (0, 1], got {self.expected_density!r}."
            )
        for name in ("dt", "sim_time", "tau_syn", "tau_m", "tau_out"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float, np.floating)) and math.isfinite(value)
                    and value > 0):
                default = {f.name: f.default for f in dataclasses.fields(self)}[name]
                raise ValueError(f"{name} must be a positive finite number (ms), got {value!r}; "
                                 f"the default is {default}.")
        ratio = self.sim_time / self.dt
        if not 1 <= round(ratio) <= MAX_SUBSTEPS:
            raise ValueError(
                f"sim_time / dt must give between 1 and {MAX_SUBSTEPS:,} substeps per "
                f"environment step, got sim_time={self.sim_time}, dt={self.dt} "
                f"({ratio:.3g} substeps); the default is 16.6 / 0.5 = 33.")
        for name in ("v_th", "v_reset", "k_in", "k_h", "k_out"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                default = {f.name: f.default for f in dataclasses.fields(self)}[name]
                raise ValueError(f"{name} must be a finite number, got {value!r}; the default "
                                 f"is {default}.")
        if not self.v_th > 0:
            raise ValueError(
                f"v_th must be positive (initial membrane potentials are drawn from "
                f"[0, v_th)), got {self.v_th!r}; the default is 1.0.")
        if not self.v_reset < self.v_th:
            raise ValueError(
                f"v_reset must lie below v_th, got v_reset={self.v_reset!r}, v_th={self.v_th!r}.")
        if self.n_params > MAX_PARAMS:
            raise ValueError(
                f"this network would have {self.n_params:,} connections (n_in={self.n_in}, "
                f"n_hidden={self.n_hidden}, n_out={self.n_out}); at most {MAX_PARAMS:,} are "
                "supported. Use fewer hidden neurons or a smaller observation.")

    # --- derived sizes -------------------------------------------------------------------
    @property
    def n_exc(self) -> int:
        """Number of excitatory neurons (the first ones)."""
        return int(round(self.n_hidden * self.excitatory_ratio))

    @property
    def n_inh(self) -> int:
        """Number of inhibitory neurons (the last ones)."""
        return self.n_hidden - self.n_exc

    @property
    def exc_words(self) -> int:
        """64-bit words holding the excitatory neurons in a packed spike vector."""
        return -(-self.n_exc // 64)

    @property
    def n_words(self) -> int:
        """64-bit words of a packed spike vector: excitatory words first, then inhibitory."""
        return self.exc_words + -(-self.n_inh // 64)

    @property
    def substeps(self) -> int:
        """LIF substeps per environment step, ``round(sim_time / dt)``."""
        return int(round(self.sim_time / self.dt))

    @property
    def shapes(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        """Shapes of ``W_in``, ``W_h`` and ``W_out``."""
        n = self.n_hidden
        return (2 * self.n_in, n), (n, n), (n, self.n_out)

    @property
    def n_params(self) -> int:
        """Number of connections (length of the flat parameter vector)."""
        return sum(a * b for a, b in self.shapes)

    # --- derived constants ---------------------------------------------------------------
    @property
    def r_in(self) -> float:
        p = self.expected_density
        return self.k_in * self.v_th * self.tau_m * math.sqrt(2.0 / (p * self.n_in))

    @property
    def r_h(self) -> float:
        p = self.expected_density
        return self.k_h * self.v_th * (self.tau_m / self.tau_syn) * math.sqrt(
            2.0 / (p * self.n_hidden)
        )

    @property
    def r_out(self) -> float:
        return self.k_out * math.sqrt(1.0 / (self.expected_density * self.n_hidden))

    @property
    def decays(self) -> tuple[float, float, float]:
        """``(a_syn, a_m, a_out)``."""
        return (
            math.exp(-self.dt / self.tau_syn),
            math.exp(-self.dt / self.tau_m),
            math.exp(-self.dt / self.tau_out),
        )

    @property
    def signs(self) -> np.ndarray:
        """+1 for excitatory neurons, -1 for inhibitory ones, as float64 ``(n_hidden,)``."""
        s = -np.ones(self.n_hidden)
        s[: self.n_exc] = 1.0
        return s

    def kernel_constants(self) -> np.ndarray:
        """Constants in the order the kernels read them (float64)."""
        a_syn, a_m, a_out = self.decays
        return np.array(
            [self.r_in, self.r_h, self.r_out, a_syn, a_m, a_out, self.v_th, self.v_reset,
             self.dt],
            dtype=np.float64,
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "NetworkConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown network settings {sorted(unknown)}.")
        return cls(**d)


# --- bit packing ---------------------------------------------------------------------------

def pack_bits(mask: np.ndarray) -> np.ndarray:
    """Pack a boolean array into uint8 bytes (little bit order), 1 bit per element."""
    return np.packbits(np.asarray(mask, dtype=bool).ravel(), bitorder="little")


def unpack_bits(packed: np.ndarray, count: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: the first ``count`` bits as a boolean vector."""
    packed = np.asarray(packed, dtype=np.uint8)
    if packed.size * 8 < count:
        raise ValueError(f"packed data holds {packed.size * 8} bits, {count} are needed.")
    return np.unpackbits(packed, count=count, bitorder="little").astype(bool)


def pack_hidden(w_h: np.ndarray, config: NetworkConfig) -> np.ndarray:
    """Pack the recurrent mask(s) column-wise into uint64 words.

    ``w_h`` is boolean ``(n, m)`` or ``(K, n, m)`` indexed ``[pre, post]`` with ``n`` the
    number of neurons; the result is ``(n_words, m)`` or ``(K, n_words, m)``: word ``b`` of
    column ``j`` holds the presynaptic neurons of that word (excitatory words first, zero
    padding at the end of each group).
    """
    w_h = np.asarray(w_h, dtype=bool)
    squeeze = w_h.ndim == 2
    if squeeze:
        w_h = w_h[None]
    k, n, m = w_h.shape
    if n != config.n_hidden:
        raise ValueError(f"expected {config.n_hidden} presynaptic rows, got {n}.")
    out = np.zeros((k, config.n_words, m), dtype=np.uint64)
    for start, stop, word0 in _groups(config):
        n_w = -(-(stop - start) // 64)
        block = np.zeros((k, n_w * 64, m), dtype=bool)
        block[:, : stop - start] = w_h[:, start:stop]
        # 64 presynaptic bits -> 8 bytes (little bit order) -> one little-endian uint64
        by = np.packbits(block.reshape(k, n_w, 64, m), axis=2, bitorder="little")
        out[:, word0:word0 + n_w] = (
            np.ascontiguousarray(by.transpose(0, 1, 3, 2)).view("<u8")[..., 0]
        )
    return out[0] if squeeze else out


def unpack_hidden(packed: np.ndarray, config: NetworkConfig) -> np.ndarray:
    """Inverse of :func:`pack_hidden`."""
    packed = np.asarray(packed, dtype=np.uint64)
    squeeze = packed.ndim == 2
    if squeeze:
        packed = packed[None]
    k, _, m = packed.shape
    out = np.zeros((k, config.n_hidden, m), dtype=bool)
    for start, stop, word0 in _groups(config):
        n_w = -(-(stop - start) // 64)
        words = np.ascontiguousarray(packed[:, word0:word0 + n_w].transpose(0, 2, 1))
        bits = np.unpackbits(words.astype("<u8").view(np.uint8).reshape(k, m, n_w, 8),
                             axis=3, bitorder="little")
        out[:, start:stop] = bits.reshape(k, m, n_w * 64)[:, :, : stop - start].transpose(0, 2, 1)
    return out[0] if squeeze else out


def pack_spikes(spikes: np.ndarray, config: NetworkConfig) -> np.ndarray:
    """Pack boolean spikes ``(K, n)`` into ``(K, n_words)`` uint64 (excitatory words first)."""
    return pack_hidden(np.asarray(spikes, dtype=bool)[:, :, None], config)[:, :, 0]


def unpack_spikes(packed: np.ndarray, config: NetworkConfig) -> np.ndarray:
    """Inverse of :func:`pack_spikes`: ``(K, n_words)`` uint64 -> ``(K, n)`` bool."""
    return unpack_hidden(np.asarray(packed, dtype=np.uint64)[:, :, None], config)[:, :, 0]


def pack_inputs(w_in: np.ndarray, config: NetworkConfig) -> np.ndarray:
    """Pack input mask(s) ``(2 n_in, n)`` or ``(K, 2 n_in, n)`` into bytes over the inputs.

    The result is uint8 ``(2, ceil(n_in / 8), n)`` or ``(K, 2, ceil(n_in / 8), n)``: bit ``t``
    of byte ``[h, c, j]`` is the connection of input ``8 c + t`` of half ``h`` (0 for ``x``,
    1 for ``-x``) to neuron ``j``; bits past ``n_in`` are zero. This is the layout the bitset
    kernel's subset-sum tables read.
    """
    w_in = np.asarray(w_in, dtype=bool)
    squeeze = w_in.ndim == 2
    if squeeze:
        w_in = w_in[None]
    k, rows, n = w_in.shape
    n_in = config.n_in
    if rows != 2 * n_in:
        raise ValueError(f"expected {2 * n_in} input rows, got {rows}.")
    n_chunks = -(-n_in // 8)
    block = np.zeros((k, 2, n_chunks * 8, n), dtype=bool)
    block[:, :, :n_in] = w_in.reshape(k, 2, n_in, n)
    # bit t of each byte from input 8c + t: eight contiguous shifts-and-ors are several times
    # faster than packbits along a strided axis
    bits = block.reshape(k, 2, n_chunks, 8, n).view(np.uint8)
    out = np.zeros((k, 2, n_chunks, n), dtype=np.uint8)
    for t in range(8):
        out |= bits[:, :, :, t, :] << np.uint8(t)
    return out[0] if squeeze else out


def unpack_inputs(packed: np.ndarray, config: NetworkConfig) -> np.ndarray:
    """Inverse of :func:`pack_inputs`."""
    packed = np.asarray(packed, dtype=np.uint8)
    squeeze = packed.ndim == 3
    if squeeze:
        packed = packed[None]
    k, _, n_chunks, n = packed.shape
    bits = np.unpackbits(packed[:, :, :, None, :], axis=3, bitorder="little")
    out = bits.reshape(k, 2, n_chunks * 8, n)[:, :, : config.n_in].reshape(k, -1, n)
    out = out.astype(bool)
    return out[0] if squeeze else out


def _groups(config: NetworkConfig):
    """(first neuron, end neuron, first word) of the non-empty excitatory and inhibitory groups."""
    groups = []
    if config.n_exc:
        groups.append((0, config.n_exc, 0))
    if config.n_inh:
        groups.append((config.n_exc, config.n_hidden, config.exc_words))
    return groups


def split_params(theta: np.ndarray, config: NetworkConfig):
    """Split flat parameter vector(s) ``(..., n_params)`` into ``W_in, W_h, W_out`` views."""
    (a0, a1), (b0, b1), (c0, c1) = config.shapes
    lead = theta.shape[:-1]
    if theta.shape[-1] != config.n_params:
        raise ValueError(
            f"parameter vector has length {theta.shape[-1]}, the network needs {config.n_params}."
        )
    i1 = a0 * a1
    i2 = i1 + b0 * b1
    return (
        theta[..., :i1].reshape(*lead, a0, a1),
        theta[..., i1:i2].reshape(*lead, b0, b1),
        theta[..., i2:].reshape(*lead, c0, c1),
    )


# --- float reference -----------------------------------------------------------------------

def _flush(a):
    """Set the subnormal entries of ``a`` to zero, as the kernels do (see ``_kernels.TINY``)."""
    a[np.abs(a) < np.finfo(np.float64).tiny] = 0.0


def float_step(x, w_in, w_h, w_out, v, i_syn, r, spikes, config: NetworkConfig):
    """One environment step of ``K`` networks with dense float matrices (numpy, batched).

    The obviously-right form of SPEC section 1, used as the reference for the bitset kernel
    and as the non-bitset comparison in the benchmark. Weights may be binary masks or real
    values (the ES network). Arrays: ``x (K, n_in)``, ``w_in (K, 2 n_in, n)``,
    ``w_h (K, n, n)``, ``w_out (K, n, n_out)``; state ``v, i_syn, r (K, n)`` float64 and
    ``spikes (K, n)`` bool are updated in place. Returns ``y (K, n_out)``.
    """
    a_syn, a_m, a_out = config.decays
    signs = config.signs
    xx = np.concatenate([x, -x], axis=1)
    i_in = config.r_in * np.einsum("ki,kij->kj", xx, w_in)
    for _ in range(config.substeps):
        s_signed = spikes * signs
        h = config.r_h * np.einsum("ki,kij->kj", s_signed, w_h)
        i_syn *= a_syn
        i_syn += h
        v[:] = a_m * v + (1.0 - a_m) * (config.v_reset + i_syn + i_in)
        spikes[:] = v > config.v_th
        v[spikes] = config.v_reset
        r[:] = a_out * r + (1.0 - a_out) * (spikes * signs / config.dt)
    for state in (v, i_syn, r):  # once per env step, as the kernels do
        _flush(state)
    return config.r_out * np.einsum("kj,kjo->ko", r, w_out)
