"""Search checkpoints: the full state of a fit in one file, written atomically, read without pickle.

A checkpoint is a ``.npz`` archive (numpy arrays only; ``allow_pickle=False`` on load) with a
``meta`` entry holding UTF-8 JSON: format and version, estimator class and parameters, network
and action space, generation counters, the random generator's state and the history. Arrays
hold the search distribution and optimiser state (``state/<name>``), the observation
normaliser (``obs_*``) and the best network so far (``best/...``).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["CHECKPOINT_NAME", "write_checkpoint", "read_checkpoint"]

CHECKPOINT_NAME = "checkpoint.npz"
FORMAT = "satrlearn-checkpoint"
VERSION = 1


def write_checkpoint(directory, meta: dict, arrays: dict) -> str:
    """Write ``directory/checkpoint.npz`` atomically (temp file, fsync, rename).

    A crash or a full disk during the write leaves the previous checkpoint intact.
    """
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    payload = {"meta": np.frombuffer(
        json.dumps({"format": FORMAT, "version": VERSION, **meta}).encode(), dtype=np.uint8)}
    payload.update(arrays)
    final = os.path.join(directory, CHECKPOINT_NAME)
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return final


def read_checkpoint(path) -> tuple[dict, dict]:
    """Read a checkpoint (a file, or a folder holding ``checkpoint.npz``): ``(meta, arrays)``."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, CHECKPOINT_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}.")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise ValueError("not a zip archive")
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        meta = json.loads(bytes(arrays.pop("meta")).decode())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError,
            UnicodeDecodeError) as exc:
        raise ValueError(f"{path!r} is not a readable satrlearn checkpoint: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a satrlearn checkpoint.")
    if meta.get("version") != VERSION:
        raise ValueError(f"{path!r} is checkpoint format {meta.get('version')}; this satrlearn "
                         f"reads format {VERSION}.")
    return meta, arrays
