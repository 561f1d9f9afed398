"""Search checkpoints: the full state of a fit in one file, written atomically, read without pickle.

A checkpoint is a ``.npz`` archive (numpy arrays only, never unpickled) with a ``meta`` entry
holding UTF-8 JSON: format and version, estimator class and parameters, network and action
space, generation counters, the random generator's state and the history. Arrays hold the
search distribution and optimiser state (``state/<name>``), the observation normaliser
(``obs_*``) and the best network so far (``best/...``). Writing and reading go through
:mod:`satrlearn._files`: the previous checkpoint survives a failed write, and a file is
checked member by member against its meta before anything is read.
"""

from __future__ import annotations

import os

import numpy as np

from ._files import FileFormatError, read_archive, write_archive
from .network import NetworkConfig
from .normalization import ObservationNormalizer
from .policy import RSNNPolicy
from .strategies.base import stored_state_spec

__all__ = ["CHECKPOINT_NAME", "estimator_state", "read_checkpoint", "restore_estimator",
           "write_checkpoint"]

CHECKPOINT_NAME = "checkpoint.npz"
FORMAT = "satrlearn-checkpoint"
VERSION = 1


def write_checkpoint(directory, meta: dict, arrays: dict) -> str:
    """Write ``directory/checkpoint.npz`` atomically (temp file, fsync, rename).

    A crash or a full disk during the write leaves the previous checkpoint intact.
    """
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    return write_archive(os.path.join(directory, CHECKPOINT_NAME),
                         {"format": FORMAT, "version": VERSION, **meta}, arrays)


def checkpoint_members(meta: dict, strategy) -> dict:
    """The members a checkpoint with this ``meta`` holds: ``{name: (dtype, shape)}``.

    Parameters
    ----------
    meta : dict
        The checkpoint's meta; its network settings are validated here.
    strategy : Strategy
        The search distribution of the checkpointed estimator; it names its state arrays.
    """
    config = NetworkConfig.from_dict(meta["network"])
    members = {f"state/{name}": spec for name, spec in
               stored_state_spec(strategy, config.n_params, meta.get("state_names")).items()}
    for prefix in ("", "best/"):
        members.update({prefix + name: (np.float64, shape) for name, shape in
                        ObservationNormalizer.array_shapes(config.n_in).items()})
    members["best/params"] = (np.bool_ if strategy.binary else np.float32, (config.n_params,))
    return members


def read_checkpoint(path, strategy_of=None) -> tuple[dict, dict]:
    """Read a checkpoint (a file, or a folder holding ``checkpoint.npz``): ``(meta, arrays)``.

    Parameters
    ----------
    path : str or path-like
    strategy_of : callable, optional
        ``strategy_of(meta) -> Strategy``: the search distribution of the estimator the meta
        describes (it raises ``ValueError`` for an unknown estimator or bad parameters).
        Default: the library's estimators.

    Raises
    ------
    FileNotFoundError
        When there is no checkpoint at ``path``.
    ValueError
        For a damaged file, another kind of file, another format version, or contents that
        disagree with the meta (missing or extra members, wrong shapes, NaN, ``rho`` outside
        [0, 1], a negative variance ...).
    """
    if strategy_of is None:
        from .search import _strategy_of as strategy_of  # the estimators import this module
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, CHECKPOINT_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}.")

    def expected(meta):
        if meta.get("format") != FORMAT:
            raise FileFormatError("is not a satrlearn checkpoint.")
        if meta.get("version") != VERSION:
            raise FileFormatError(
                f"is checkpoint format {meta.get('version')!r}; this satrlearn reads format "
                f"{VERSION}. Upgrade satrlearn to resume it.")
        return checkpoint_members(meta, strategy_of(meta))

    meta, arrays = read_archive(path, expected, what="checkpoint")
    try:
        strategy = strategy_of(meta)
        strategy.check_state({k[len("state/"):]: v for k, v in arrays.items()
                              if k.startswith("state/")})
        ObservationNormalizer.from_arrays(arrays)
        ObservationNormalizer.from_arrays({k[len("best/"):]: v for k, v in arrays.items()
                                           if k.startswith("best/obs_")})
        if not np.all(np.isfinite(arrays["best/params"])):
            raise ValueError("the best network's weights hold NaN or inf values.")
    except (KeyError, TypeError, ValueError) as exc:
        raise FileFormatError(f"{path!r} is an inconsistent satrlearn checkpoint: {exc}") from None
    return meta, arrays


def estimator_state(est) -> tuple[dict, dict]:
    """``(meta, arrays)`` of a fitted estimator: everything :func:`restore_estimator` needs.

    Distribution and optimiser state, normaliser, random generator, counters, budget, history
    and the best network so far.
    """
    params = {k: v for k, v in est.get_params().items()
              if k not in ("callbacks", "random_state", "checkpoint_dir")}
    meta = {
        "estimator": type(est).__name__,
        "params": params,
        "random_state": est.random_state if isinstance(est.random_state, int) else None,
        "network": est.network_config_.to_dict(),
        "action_space": est.policy_.action_map.to_dict(),
        "env": getattr(est, "_env_id", None),
        "env_kwargs": getattr(est, "_env_kwargs", None),
        "observation_shape": list(est.policy_.observation_shape),
        "n_generations_done": est.n_generations_,
        "budget": getattr(est, "_budget", None) or {
            "start": [est.n_generations_, est.env_steps_, est.wall_time_],
            "target": [est.n_generations_, None, None]},
        "reward_offset": est.reward_offset_,
        "env_steps": est.env_steps_,
        "wall_time": est.wall_time_,
        "best_score": None if not np.isfinite(est.best_score_) else est.best_score_,
        "rng": est._rng.bit_generator.state,
        "rng_kind": type(est._rng.bit_generator).__name__,
        "history": est.history_,
        "state_names": sorted(est._state),
    }
    arrays = {f"state/{k}": np.asarray(v) for k, v in est._state.items()}
    arrays.update(est._normalizer.state_arrays())
    best = est.best_policy_
    arrays["best/params"] = best.params
    arrays.update({f"best/{k}": v for k, v in best.normalizer.state_arrays().items()})
    return meta, arrays


def restore_estimator(est, meta, arrays, config, action_map, history_keys) -> None:
    """Put the state of a checkpoint (as :func:`read_checkpoint` returns it) into ``est``.

    ``config`` and ``action_map`` are the network and action space the caller validated
    against the environment; ``history_keys`` the columns of ``history_`` (columns missing
    from older files are filled with NaN).
    """
    try:
        bitgen = getattr(np.random, meta["rng_kind"])()
        bitgen.state = meta["rng"]
        est._rng = np.random.Generator(bitgen)
        est._opt = est._make_optimizer(config.n_params)
        est._opt.set_state({k[len("state/"):]: v for k, v in arrays.items()
                            if k.startswith("state/")},
                           generation=int(meta["n_generations_done"]))
        est._normalizer = ObservationNormalizer.from_arrays(arrays)
        n_done = len(meta["history"]["generation"])  # older files lack newer columns
        est.history_ = {k: list(meta["history"].get(k, [float("nan")] * n_done))
                        for k in history_keys}
        est.n_generations_ = int(meta["n_generations_done"])
        if "budget" in meta:
            budget = meta["budget"]
            est._budget = {"start": [int(budget["start"][0]), int(budget["start"][1]),
                                     float(budget["start"][2])],
                           "target": [None if v is None else kind(v) for kind, v in
                                      zip((int, int, float), budget["target"])]}
        else:  # written before step and time budgets
            est._budget = {"start": [0, 0, 0.0],
                           "target": [int(meta["target_generations"]), None, None]}
        est.reward_offset_ = float(meta.get("reward_offset", 0.0))
        est._reward_offset_base = est.reward_offset_
        est.env_steps_ = int(meta["env_steps"])
        est.wall_time_ = float(meta["wall_time"])
        est.best_score_ = -np.inf if meta["best_score"] is None else meta["best_score"]
        best_norm = ObservationNormalizer.from_arrays(
            {k[len("best/"):]: v for k, v in arrays.items() if k.startswith("best/obs_")})
        shape = meta.get("observation_shape")
        est._obs_shape = (config.n_in,) if shape is None else tuple(shape)
        est.best_policy_ = RSNNPolicy(config, arrays["best/params"], best_norm, action_map,
                                      observation_shape=est._obs_shape)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"inconsistent checkpoint: {exc}") from None
    est.network_config_ = config
    est._env_id = meta.get("env")
    est._env_kwargs = meta.get("env_kwargs")
