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

__all__ = ["CHECKPOINT_NAME", "read_checkpoint", "write_checkpoint"]

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
               strategy.state_spec(config.n_params).items()}
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
