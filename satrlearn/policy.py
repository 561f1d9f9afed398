"""The trained policy and its safe file.

:class:`RSNNPolicy` is one deterministic network (run by the engine,
:class:`~satrlearn.engine.NetworkBatch`) plus its observation normaliser and action mapping,
usable in a Gymnasium loop and through Stable-Baselines3's ``predict`` protocol, saved to and
loaded from a small file that never runs code (docs/file-format.md).
"""

from __future__ import annotations

import math
import os

import numpy as np

from ._files import FileFormatError, read_archive, write_archive
from .engine import ActionMap, NetworkBatch  # re-exported: they used to live here
from .network import NetworkConfig, pack_bits, unpack_bits
from .normalization import ObservationNormalizer

__all__ = ["FORMAT_VERSION", "ActionMap", "NetworkBatch", "RSNNPolicy"]

FORMAT_VERSION = 1
_MAGIC = "satrlearn-rsnn-policy"


class RSNNPolicy:
    """A deterministic spiking policy: observation normaliser -> RSNN -> action mapping.

    Usually obtained as ``estimator.policy_`` or from :meth:`load`.

    Parameters
    ----------
    config : NetworkConfig
    params : ndarray of shape (n_params,)
        Boolean connections (binary network, bitset kernel) or real weights (ES network).
    normalizer : ObservationNormalizer
    action_space : gymnasium.spaces.Box or gymnasium.spaces.Discrete
    seed : int, optional
        Seeds the initial membrane potentials drawn at each :meth:`reset`.
    observation_shape : tuple of int, optional
        Shape of one observation of the environment (default ``(n_in,)``). The policy accepts
        observations of this shape or flat ones, alone or in a batch.

    Attributes
    ----------
    observation_size, observation_shape, action_space, binary, n_params
    spikes, synaptic_events, steps : int
        Counts since the last reset of the single-environment interface (``policy(obs)``);
        ``spikes / steps`` and ``synaptic_events / steps`` are the per-step activity used for
        energy estimates.

    Examples
    --------
    >>> import gymnasium as gym
    >>> env = gym.make("CartPole-v1")
    >>> policy = SATRSearch(pop=16, n_generations=1).fit(env).policy_   # doctest: +SKIP
    >>> obs, _ = env.reset(seed=0); policy.reset(seed=0)                # doctest: +SKIP
    >>> action = policy(obs)                                            # doctest: +SKIP
    """

    def __init__(self, config: NetworkConfig, params, normalizer: ObservationNormalizer,
                 action_space, seed=None, observation_shape=None):
        if observation_shape is None:
            observation_shape = (config.n_in,)
        try:
            observation_shape = tuple(int(d) for d in observation_shape)
        except (TypeError, ValueError):
            raise ValueError(
                f"observation_shape must be a tuple of ints, got {observation_shape!r}.") from None
        if (len(observation_shape) > 32 or any(d < 1 for d in observation_shape)
                or math.prod(observation_shape) != config.n_in):
            raise ValueError(
                f"observation_shape {observation_shape} does not hold the network's "
                f"{config.n_in} inputs.")
        self.observation_shape = observation_shape
        params = np.asarray(params)
        if params.shape != (config.n_params,):
            raise ValueError(
                f"params must have shape ({config.n_params},), got {params.shape}.")
        if params.dtype != np.bool_:
            params = params.astype(np.float32)
        self.config = config
        self.params = params
        self.normalizer = normalizer
        self.action_map = action_space if isinstance(action_space, ActionMap) else ActionMap(
            action_space)
        if self.action_map.n_out != config.n_out:
            raise ValueError(
                f"the action space needs {self.action_map.n_out} outputs, the network has "
                f"{config.n_out}.")
        if normalizer.mean.shape != (config.n_in,):
            raise ValueError(
                f"the normaliser has {normalizer.mean.shape[0]} inputs, the network "
                f"{config.n_in}.")
        self._rng = np.random.default_rng(seed)
        self._batches: dict[int, NetworkBatch] = {}
        self._single = None
        self.reset(seed)

    # --- properties ------------------------------------------------------------------
    @property
    def binary(self) -> bool:
        return self.params.dtype == np.bool_

    @property
    def n_params(self) -> int:
        return self.config.n_params

    @property
    def observation_size(self) -> int:
        return self.config.n_in

    @property
    def action_space(self):
        return self.action_map.space

    @property
    def spikes(self) -> int:
        return int(self._single.counts[0, 0])

    @property
    def synaptic_events(self) -> int:
        return int(self._single.counts[0, 1])

    # --- running ---------------------------------------------------------------------
    def _batch(self, k: int) -> NetworkBatch:
        if k not in self._batches:
            self._batches[k] = NetworkBatch(self.config, self.params, k=k)
        return self._batches[k]

    def _check_obs(self, observation) -> tuple[np.ndarray, bool]:
        """``(B, n_in)`` float64 observations, and whether one observation was given."""
        obs = np.asarray(observation)
        if np.iscomplexobj(obs) or not (np.issubdtype(obs.dtype, np.number)
                                        or obs.dtype == np.bool_):
            raise ValueError(
                f"observations must be real numbers, got dtype {obs.dtype}.")
        n_in, shape = self.config.n_in, self.observation_shape
        if obs.shape in (shape, (n_in,)):
            obs, single = obs.reshape(1, n_in), True
        elif obs.ndim >= 2 and obs.shape[1:] in (shape, (n_in,)):
            obs, single = obs.reshape(obs.shape[0], n_in), False
        else:
            flat = "" if shape == (n_in,) else f" or ({n_in},)"
            raise ValueError(
                f"observation has shape {obs.shape}; this policy expects {shape}{flat}, or a "
                f"batch of them with a leading batch dimension. Was it trained on another "
                "environment?")
        obs = obs.astype(np.float64)
        if not np.all(np.isfinite(obs)):
            raise ValueError("observation contains NaN or inf values.")
        return obs, single

    def reset(self, seed=None) -> None:
        """Start a new episode for ``policy(obs)``: fresh membrane potentials, zero counts."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._single = NetworkBatch(self.config, self.params, k=1)
        self._single.reset(seeds=[self._rng.integers(2**63)])
        self.steps = 0

    def __call__(self, observation):
        """Act on one observation, carrying the network state between calls."""
        obs, single = self._check_obs(observation)
        if not single:
            raise ValueError("policy(obs) takes one observation; use predict() for a batch.")
        y = self._single.step(self.normalizer(obs))
        self.steps += 1
        return self.action_map(y)[0]

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        """Stable-Baselines3 predictor protocol: ``(action, state)``.

        Parameters
        ----------
        observation : array of shape (obs_dim,) or (B, obs_dim)
        state : tuple of arrays or None
            The network state returned by the previous call; None starts fresh networks.
        episode_start : array of bool of shape (B,), optional
            Rows whose network state is reset before acting (SB3's ``episode_starts``).
        deterministic : bool
            Accepted for compatibility; the policy is always deterministic given its state.

        Returns
        -------
        action : ndarray, (act_shape) or (B, act_shape)
        state : tuple ``(v, i_syn, r, s)`` of arrays with a leading batch dimension
        """
        obs, single = self._check_obs(observation)
        b = obs.shape[0]
        starts = self._check_episode_start(episode_start, b)
        net = self._batch(b)
        if state is None:
            net.reset(seeds=self._rng.integers(2**63, size=b))
        else:
            self._check_state(state, net, b)
            net.v[:], net.i_syn[:], net.r[:], net.s[:] = state
        if len(starts):
            net.reset(rows=starts, seeds=self._rng.integers(2**63, size=len(starts)))
        y = net.step(self.normalizer(obs))
        actions = self.action_map(y)
        new_state = (net.v.copy(), net.i_syn.copy(), net.r.copy(), net.s.copy())
        return (actions[0] if single else actions), new_state

    @staticmethod
    def _check_episode_start(episode_start, b) -> np.ndarray:
        """Rows to reset: ``episode_start`` is None, one bool per row, or a bool for one row."""
        if episode_start is None:
            return np.zeros(0, dtype=np.int64)
        flags = np.asarray(episode_start)
        if flags.dtype != np.bool_ and not (np.issubdtype(flags.dtype, np.integer)
                                            or np.issubdtype(flags.dtype, np.floating)):
            raise ValueError(f"episode_start must hold booleans, got dtype {flags.dtype}.")
        if flags.ndim == 0 and b == 1:
            flags = flags.reshape(1)
        if flags.shape != (b,):
            raise ValueError(
                f"episode_start has shape {flags.shape}; expected ({b},), one flag per "
                f"observation of the batch (a scalar only for a single observation).")
        if not np.all((flags == 0) | (flags == 1)):
            raise ValueError("episode_start must hold booleans (or 0 and 1).")
        return np.flatnonzero(flags.astype(bool))

    def _check_state(self, state, net, b) -> None:
        """``state`` must be ``(v, i_syn, r, s)`` as returned by predict() for ``b`` rows."""
        expected = (net.v, net.i_syn, net.r, net.s)
        hint = ("state must be the tuple (v, i_syn, r, s) returned by a previous predict() "
                f"with the same batch size {b}")
        if not isinstance(state, (tuple, list)) or len(state) != 4:
            raise ValueError(f"{hint}; got {type(state).__name__}.")
        for name, got, want in zip(("v", "i_syn", "r", "s"), state, expected):
            got = np.asarray(got)
            if got.shape != want.shape:
                raise ValueError(f"{hint}: {name} has shape {got.shape}, expected {want.shape}.")
            if name == "s":
                if got.dtype != np.uint64:
                    raise ValueError(f"{hint}: s must be uint64 packed spikes, got {got.dtype}.")
            elif not np.all(np.isfinite(got)):
                raise ValueError(f"{hint}: {name} holds NaN or inf values.")

    def run_sequence(self, observations, seed=None) -> np.ndarray:
        """Actions for consecutive observations ``(T, obs_dim)`` from a fresh network state.

        ``(T,) + observation_shape`` is accepted too.
        """
        obs, single = self._check_obs(observations)
        if single:
            raise ValueError(
                f"expected a sequence of observations of shape (T, {self.config.n_in}), got "
                f"{np.shape(observations)}.")
        net = NetworkBatch(self.config, self.params, k=1)
        rng = self._rng if seed is None else np.random.default_rng(seed)
        net.reset(seeds=[rng.integers(2**63)])
        out = [self.action_map(net.step(self.normalizer(o[None])))[0] for o in obs]
        return np.asarray(out)

    # --- file ------------------------------------------------------------------------
    def save(self, path) -> str:
        """Write the policy to ``path`` (a zip of ``.npy`` arrays, see :doc:`file-format`).

        The connections of a binary network take 1 bit each. Returns the path written.
        """
        meta = {
            "format": _MAGIC,
            "version": FORMAT_VERSION,
            "network": self.config.to_dict(),
            "action_space": self.action_map.to_dict(),
            "binary": bool(self.binary),
            "n_params": int(self.n_params),
            "observation_shape": list(self.observation_shape),
        }
        arrays = {}
        if self.binary:
            arrays["connections"] = pack_bits(self.params)
        else:
            arrays["weights"] = self.params.astype(np.float32)
        arrays.update(self.normalizer.state_arrays())
        return write_archive(path, meta, arrays, compress=True)

    @classmethod
    def load(cls, path, seed=None) -> "RSNNPolicy":
        """Read a policy written by :meth:`save`. Never unpickles: no code runs on load.

        Every size and constant in the file's description is validated before anything is
        allocated, only the members the format defines are read, each checked against those
        sizes first, and the values are checked too (finite weights and normaliser, positive
        variances). Any other file raises ``ValueError``.
        """
        meta, arrays = read_archive(path, _policy_members, what="policy file",
                                    max_meta_bytes=_MAX_POLICY_META)
        try:
            config = NetworkConfig.from_dict(meta["network"])
            if meta["binary"]:
                params = unpack_bits(arrays["connections"], config.n_params)
            else:
                params = arrays["weights"]
                if not np.all(np.isfinite(params)):
                    raise ValueError("the weights hold NaN or inf values")
            normalizer = ObservationNormalizer.from_arrays(arrays, config.n_in)
            action_map = ActionMap.from_dict(meta["action_space"])
            return cls(config, params, normalizer, action_map, seed=seed,
                       observation_shape=meta.get("observation_shape"))
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
            raise FileFormatError(
                f"{os.fspath(path)!r} is an inconsistent satrlearn policy file: "
                f"{type(exc).__name__}: {exc}") from None

    # --- neuromorphic deployment ----------------------------------------------------------
    def to_nir(self, variant="exact"):
        """The network as a ``nir.NIRGraph`` (needs ``nir``); see :func:`satrlearn.nir.to_nir`
        and docs/neuromorphic.md for the variants."""
        from .nir import to_nir

        return to_nir(self, variant)

    @classmethod
    def from_nir(cls, graph, seed=None) -> "RSNNPolicy":
        """The policy a graph written by :meth:`to_nir` describes (a graph or a ``.nir`` file);
        see :func:`satrlearn.nir.from_nir`."""
        from .nir import from_nir

        return from_nir(graph, seed=seed)

    def energy(self, env, n_episodes=1, seed=0, **kwargs) -> dict:
        """Analytical energy estimate of running this policy on ``env`` (counted operations
        times published per-operation energies); see :func:`satrlearn.energy.energy_report`."""
        from .energy import energy_report

        return energy_report(self, env, n_episodes=n_episodes, seed=seed, **kwargs)

    def __repr__(self):
        kind = "binary" if self.binary else "real"
        return (f"RSNNPolicy(n_in={self.config.n_in}, n_hidden={self.config.n_hidden}, "
                f"n_out={self.config.n_out}, {kind}, action={self.action_map.to_dict()['type']})")


_MAX_POLICY_META = 2**20  # bytes of JSON: network settings and the action space's bounds


def _policy_members(meta: dict) -> dict:
    """The members a policy file with this ``meta`` must hold: ``{name: (dtype, shape)}``.

    Validates the description first (format, version, network sizes within
    :data:`~satrlearn.network.MAX_PARAMS`), so nothing is read for a file that lies.
    """
    if meta.get("format") != _MAGIC:
        raise FileFormatError("is not a satrlearn policy file.")
    if meta.get("version") != FORMAT_VERSION:
        raise FileFormatError(
            f"uses policy file format {meta.get('version')!r}; this satrlearn reads format "
            f"{FORMAT_VERSION}. Upgrade satrlearn to load it.")
    config = NetworkConfig.from_dict(meta["network"])
    if not isinstance(meta["binary"], bool):
        raise ValueError(f"'binary' must be true or false, got {meta['binary']!r}")
    if meta.get("n_params", config.n_params) != config.n_params:
        raise ValueError(f"n_params {meta['n_params']!r} disagrees with the network "
                         f"({config.n_params})")
    if ActionMap.from_dict(meta["action_space"]).n_out != config.n_out:
        raise ValueError("the action space and the network's outputs disagree")
    members = {name: (np.float64, shape) for name, shape in
               ObservationNormalizer.array_shapes(config.n_in).items()}
    if meta["binary"]:
        members["connections"] = (np.uint8, (-(-config.n_params // 8),))
    else:
        members["weights"] = (np.float32, (config.n_params,))
    return members
