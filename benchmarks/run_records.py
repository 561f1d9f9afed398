"""What the resumable benchmark scripts share: atomic writes, machine and commit records,
run records on disk, and generated tables between marker lines of a docs page.

Imported by ``bench_learning.py``, ``sweep_defaults.py`` and ``time_budget.py`` (run as
``python benchmarks/<script>.py``, so this folder is on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_atomic(path, text):
    """Write ``text`` to ``path`` with the library's atomic writer (temp file, fsync, rename)."""
    from satrlearn._files import atomic_write

    atomic_write(path, lambda fh: fh.write(text), mode="w")


def machine_info():
    """The machine and software a run used, as a JSON-ready dict."""
    info = {"cpu_count": os.cpu_count(), "platform": platform.platform(),
            "machine": platform.machine(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    for module in ("satrlearn", "gymnasium", "mujoco", "numpy", "numba"):
        try:
            info[module] = __import__(module).__version__
        except (ImportError, AttributeError):  # only leaves a gap in the record
            info[module] = None
    return info


def code_commit():
    """The repository's commit, with ``+dirty`` when ``satrlearn/`` has uncommitted changes."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "satrlearn"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def history_paths(results, match):
    """The history CSVs in the folder ``results`` whose run names match the glob ``match``,
    sorted; exits with a message naming both when there are none."""
    import glob

    paths = sorted(glob.glob(os.path.join(results, match + ".csv")))
    if not paths:
        raise SystemExit(f"No history CSV matches {match!r} in {results}.")
    return paths


def load_records(results, suffix=".json"):
    """Every run record (JSON files ending in ``suffix``) in the folder ``results``."""
    records = []
    if not os.path.isdir(results):
        return records
    for name in sorted(os.listdir(results)):
        if name.endswith(suffix):
            with open(os.path.join(results, name)) as fh:
                records.append(json.load(fh))
    return records


def replace_between_markers(path, start, end, body, heading=None, title=None):
    """Put ``body`` between the lines ``start`` and ``end`` of the file ``path``.

    Everything outside the markers is kept as it is. When the markers are missing they are
    appended at the end of the file, after ``heading`` if given; a missing file is created,
    starting with ``title`` if given.
    """
    text = ""
    if os.path.isfile(path):
        with open(path) as fh:
            text = fh.read()
    elif title:
        text = title + "\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text.split(start, 1)[1]:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        parts = [text.rstrip("\n")] if text.strip() else []
        if heading:
            parts.append(heading)
        parts.append(block)
        text = "\n\n".join(parts) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomic(path, text)


def write_record(results, name, record):
    """Write ``results/name.json``: ``record`` with the machine, the commit and the time added.

    Written last and atomically, so a run interrupted midway leaves no record behind and a
    resumable script runs it again.
    """
    import time

    record = dict(record, machine=machine_info(), commit=code_commit(),
                  finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    write_atomic(os.path.join(results, name + ".json"),
                 json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def default_k_in() -> float:
    """The library's default input gain of the network (``NetworkConfig.k_in``)."""
    import dataclasses

    from satrlearn.network import NetworkConfig
    return next(f.default for f in dataclasses.fields(NetworkConfig) if f.name == "k_in")
