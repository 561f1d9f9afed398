"""File helpers shared by policies, checkpoints and the command line.

:func:`atomic_write` is the one way satrlearn replaces a file: the new content goes to a
temporary file in the same folder, is flushed to disk, then renamed over the target, so a
crash, a full disk or Ctrl-C leaves either the old file or the new one, never a mix, and no
temporary file behind. Temporary files of writes that were killed outright (SIGKILL, power
loss) are named ``.<target>.<random>.tmp``; readers never look at them and the next write of
the same target removes those older than a minute.

:func:`write_archive` and :func:`read_archive` are the one writer and the one hardened reader
of satrlearn's ``.npz`` files (policies and checkpoints): a zip of ``.npy`` members plus a
``meta`` member of UTF-8 JSON. The reader never unpickles, accepts only the members the caller
expects (names, dtypes and shapes decided from the validated ``meta``), checks each member's
declared header against them *before* reading its data, and reads no more bytes than those
shapes need, so a hostile file cannot make it allocate more than a valid file of the same
declared sizes would.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import struct
import tempfile
import time
import zipfile
import zlib

import numpy as np

__all__ = ["FileFormatError", "atomic_write", "read_archive", "write_archive"]

#: Temporary files of killed writes older than this (seconds) are removed by the next write.
STALE_SECONDS = 60.0
#: Most members an archive may list (the central directory is parsed only below this).
MAX_MEMBERS = 64


class FileFormatError(ValueError):
    """A file that is damaged, of another kind, or inconsistent with its own description."""


class _Damaged(FileFormatError):
    """Bytes that do not form a satrlearn archive at all."""


class _Inconsistent(FileFormatError):
    """An archive whose members disagree with its meta."""


def _remove_stale(path):
    folder, name = os.path.split(os.path.abspath(path))
    now = time.time()
    for tmp in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.*.tmp")):
        with contextlib.suppress(OSError):
            if now - os.path.getmtime(tmp) > STALE_SECONDS:
                os.unlink(tmp)


def atomic_write(path, write, mode="wb"):
    """Replace ``path`` with what ``write(fh)`` writes, atomically.

    Parameters
    ----------
    path : str or path-like
    write : callable
        Called with an open file object (binary for ``mode="wb"``, text for ``"w"``).
    mode : {"wb", "w"}

    Returns
    -------
    str
        The path written.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        kwargs = {"newline": ""} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _remove_stale(path)
    return path


def write_archive(path, meta: dict, arrays: dict, compress=False):
    """Write ``meta`` (JSON) and ``arrays`` as an ``.npz`` archive, atomically."""
    payload = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    payload.update({name: np.asarray(a) for name, a in arrays.items()})
    save = np.savez_compressed if compress else np.savez
    return atomic_write(path, lambda fh: save(fh, **payload))


def _member_count(fh, size):
    """Number of members the zip's end record declares (ZIP64 archives are refused)."""
    tail = min(size, 22 + 65535)
    fh.seek(size - tail)
    data = fh.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or len(data) - at < 22:
        raise _Damaged("not a zip archive (no end record)")
    _, disk, _, _, total, _, _, _ = struct.unpack("<4s4H2LH", data[at:at + 22])
    if disk != 0 or total == 0xFFFF:
        raise _Damaged("multi-part or ZIP64 archives are not satrlearn files")
    return total


def _npy_header(member):
    """``(shape, dtype, header_length)`` of an ``.npy`` stream, reading only its header."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise _Damaged(f"unsupported .npy version {version}")
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise _Damaged(f"object or structured dtype {dtype}")
    return tuple(shape), dtype, fortran


def read_archive(path, expected, *, what="file", max_meta_bytes=64 * 2**20):
    """Read a satrlearn ``.npz`` archive safely: ``(meta, arrays)``.

    Parameters
    ----------
    path : str or path-like
    expected : callable
        ``expected(meta) -> {name: (dtype, shape)}``: the members the format defines for this
        meta (``meta`` itself excluded). It validates ``meta`` and raises ``ValueError`` (or
        ``KeyError``/``TypeError``) when it is inconsistent. A name whose value is None is
        optional and, when present, read with any dtype and shape up to 1 MiB.
    what : str
        Noun used in error messages ("policy file", "checkpoint").
    max_meta_bytes : int
        Largest ``meta`` member accepted.

    Returns
    -------
    meta : dict
    arrays : dict of ndarray

    Raises
    ------
    FileNotFoundError
        When ``path`` is not a file.
    FileFormatError (a ValueError)
        For anything else: damaged or truncated bytes, another kind of file, unexpected or
        missing members, members whose dtype or shape disagree with ``meta``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no {what} at {path!r}.")
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if fh.read(4) != b"PK\x03\x04":
                raise _Damaged("not a zip archive")
            n_members = _member_count(fh, size)
            if n_members > MAX_MEMBERS:
                raise _Damaged(f"{n_members} members; a satrlearn file has few")
            fh.seek(0)
            with zipfile.ZipFile(fh) as zf:
                infos = {}
                for info in zf.infolist():
                    if not info.filename.endswith(".npy") or info.filename[:-4] in infos:
                        raise _Damaged(f"unexpected member {info.filename!r}")
                    infos[info.filename[:-4]] = info
                if "meta" not in infos:
                    raise _Damaged("no meta member")
                meta_array = _read_member(zf, infos.pop("meta"), np.dtype(np.uint8), None,
                                          max_meta_bytes)
                meta = json.loads(meta_array.tobytes().decode())
                if not isinstance(meta, dict):
                    raise _Damaged("meta is not a JSON object")
                try:
                    spec = expected(meta)
                except FileFormatError as exc:  # another kind of file, or another version
                    raise FileFormatError(f"{path!r} {exc}") from None
                except (KeyError, TypeError, ValueError, AttributeError,
                        OverflowError) as exc:
                    raise _Inconsistent(f"{type(exc).__name__}: {exc}") from None
                unexpected = sorted(set(infos) - set(spec))
                if unexpected:
                    raise _Inconsistent(f"unexpected members {unexpected}")
                missing = sorted(n for n, s in spec.items() if s is not None and n not in infos)
                if missing:
                    raise _Inconsistent(f"missing members {missing}")
                arrays = {}
                for name, info in infos.items():
                    dtype, shape = spec[name] if spec[name] is not None else (None, None)
                    arrays[name] = _read_member(zf, info, dtype, shape, 2**20)
    except _Inconsistent as exc:
        raise FileFormatError(f"{path!r} is an inconsistent satrlearn {what}: {exc}.") from None
    except _Damaged as exc:
        raise FileFormatError(
            f"{path!r} is not a readable satrlearn {what} (damaged, truncated or of another "
            f"kind): {exc}.") from None
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            UnicodeDecodeError, RecursionError, NotImplementedError, struct.error,
            zlib.error) as exc:
        raise FileFormatError(
            f"{path!r} is not a readable satrlearn {what} (damaged, truncated or of another "
            f"kind): {type(exc).__name__}: {exc}") from None
    return meta, arrays


def _read_member(zf, info, dtype, shape, max_bytes):
    """One member, its header checked against ``dtype``/``shape`` before any data is read.

    With ``shape`` None any 1-D or scalar shape is accepted up to ``max_bytes``.
    """
    if info.flag_bits & 0x1:
        raise _Damaged(f"encrypted member {info.filename!r}")
    with zf.open(info) as member:
        got_shape, got_dtype, fortran = _npy_header(member)
        header = member.tell()
        if dtype is not None and got_dtype != np.dtype(dtype):
            raise _Inconsistent(
                f"member {info.filename!r} is {got_dtype}, expected {np.dtype(dtype)}")
        if shape is not None and got_shape != tuple(shape):
            raise _Inconsistent(
                f"member {info.filename!r} has shape {got_shape}, expected {tuple(shape)}")
        if any(d < 0 for d in got_shape):
            raise _Damaged(f"member {info.filename!r} has a negative size")
        n_bytes = int(np.prod(got_shape, dtype=object)) * got_dtype.itemsize
        if shape is None and n_bytes > max_bytes:
            raise _Damaged(f"member {info.filename!r} is too large ({n_bytes} bytes)")
        if info.file_size != header + n_bytes:
            raise _Damaged(
                f"member {info.filename!r} declares {info.file_size} bytes, its header "
                f"{header + n_bytes}")
        if fortran and len(got_shape) > 1:
            raise _Damaged(f"member {info.filename!r} is in Fortran order")
        array = np.empty(got_shape, dtype=got_dtype)
        view = memoryview(array.reshape(-1)).cast("B") if n_bytes else b""
        if n_bytes and member.readinto(view) != n_bytes:
            raise _Damaged(f"member {info.filename!r} is truncated")
        if member.read(1):
            raise _Damaged(f"trailing data in {info.filename!r}")
    return array
