"""Callbacks: code that runs at the start of a fit, after every generation, and at its end.

Pass them as ``callbacks=[...]`` to any estimator. A callback is either a :class:`Callback`
(any object with some of the methods ``on_fit_start(estimator)``,
``on_generation(estimator, record)`` and ``on_fit_end(estimator)``) or a bare function
``f(estimator, record)``, which is called after every generation. ``on_generation`` (or the
function) returning ``False`` ends the fit after that generation. ``on_fit_end`` runs however
the fit ends (budget reached, a callback, Ctrl-C or an error), after the final checkpoint.

Built in:

* :class:`StopOnReturn`: stop once a history column (by default the evaluation's true return)
  reaches a threshold;
* :class:`CSVLogger`: ``history.csv`` that grows by one row per generation (what
  ``satrlearn train`` writes);
* :class:`TensorBoardLogger`: every numeric column of the history as TensorBoard scalars
  (needs ``pip install tensorboardX``, or PyTorch's ``torch.utils.tensorboard``).

:func:`save_run` writes the same run folder as ``satrlearn train`` from Python.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
import warnings

import numpy as np

from ._files import atomic_write

__all__ = ["CSVLogger", "Callback", "StopOnReturn", "TensorBoardLogger", "as_callbacks",
           "read_history", "save_run", "write_history"]

_HOOKS = ("on_fit_start", "on_generation", "on_fit_end")


class Callback:
    """Base class: override any of the three hooks; each does nothing by default."""

    def on_fit_start(self, estimator) -> None:
        """Before the first generation of ``fit`` or ``resume`` (``history_`` holds what
        earlier generations recorded, if any)."""

    def on_generation(self, estimator, record):
        """After each generation; ``record`` is its row of ``history_``. Return ``False``
        to end the fit."""

    def on_fit_end(self, estimator) -> None:
        """When the fit ends, however it ends (after the last checkpoint)."""


class _Function(Callback):
    """A bare function ``f(estimator, record)`` as an ``on_generation`` callback."""

    def __init__(self, fn):
        self.fn = fn

    def on_generation(self, estimator, record):
        return self.fn(estimator, record)

    def __repr__(self):
        return f"{type(self).__name__}({self.fn!r})"


def as_callbacks(callbacks) -> list:
    """The estimator's ``callbacks`` parameter as a list of objects with the three hooks.

    Raises
    ------
    TypeError
        For anything that is neither a callable nor an object with at least one hook.
    """
    if callbacks is None:
        return []
    if callable(callbacks) or any(hasattr(callbacks, h) for h in _HOOKS):
        callbacks = [callbacks]
    out = []
    for cb in callbacks:
        if any(hasattr(cb, h) for h in _HOOKS):
            out.append(cb)
        elif callable(cb):
            out.append(_Function(cb))
        else:
            raise TypeError(f"callbacks must be functions f(estimator, record) or objects with "
                            f"on_fit_start / on_generation / on_fit_end methods, got {cb!r}.")
    return out


def call_hook(callbacks, hook, *args):
    """Call ``hook`` on every callback that has it; True when one asked to stop."""
    stop = False
    for cb in callbacks:
        method = getattr(cb, hook, None)
        if method is not None and method(*args) is False:
            stop = True
    return stop


# --- built-ins ----------------------------------------------------------------------------
class StopOnReturn(Callback):
    """End the fit once ``record[key] >= threshold`` (NaN, e.g. a generation without an
    evaluation, never stops it).

    Parameters
    ----------
    threshold : float
    key : str, default="eval_mean"
        A column of ``history_``: ``"eval_mean"`` (the deterministic network's true return on
        fresh episodes, every ``eval_every`` generations), ``"return_mean"``, ``"return_det"``...

    Examples
    --------
    >>> from satrlearn import SATRSearch
    >>> est = SATRSearch(pop=16, n_generations=50, eval_every=2,
    ...                  callbacks=[StopOnReturn(150.0)])     # doctest: +SKIP
    """

    def __init__(self, threshold, key="eval_mean"):
        self.threshold = float(threshold)
        self.key = key

    def on_fit_start(self, estimator):
        if self.key not in estimator.history_:
            raise ValueError(f"StopOnReturn: history_ has no column {self.key!r}; use one of "
                             f"{', '.join(estimator.history_)}.")

    def on_generation(self, estimator, record):
        value = record[self.key]
        if value is not None and not math.isnan(value) and value >= self.threshold:
            return False
        return None


def write_history(history, path):
    """Write a ``history_`` dict of equal-length lists as CSV with a header row, atomically.

    Parameters
    ----------
    history : dict of lists
        Column name to values, one value per generation (an estimator's ``history_``).
    path : str or path-like

    Returns
    -------
    str
        The path written.
    """
    keys = list(history)

    def write(fh):
        writer = csv.writer(fh)
        writer.writerow(keys)
        writer.writerows(zip(*(history[k] for k in keys)))

    return atomic_write(path, write, mode="w")


def _number(text):
    """A CSV cell as int when written as one, else float (empty cells are NaN)."""
    if not text:
        return math.nan
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_history(path):
    """Read a ``history.csv`` (or a run folder holding one) into a dict of lists of numbers.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    ValueError
        When it is not a history CSV (empty, ragged rows, values that are not numbers).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "history.csv")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no history file at {path!r}; pass a run folder written by "
                                "`satrlearn train` or its history.csv.")
    try:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise ValueError(f"{path!r} is empty; expected a header row and one row per "
                                 "generation.")
            columns = {name: [] for name in header}
            for line, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    raise ValueError(f"{path!r} line {line} has {len(row)} values, the header "
                                     f"has {len(header)}; the file is damaged.")
                for name, text in zip(header, row):
                    try:
                        columns[name].append(_number(text))
                    except ValueError:
                        raise ValueError(f"{path!r} line {line} holds a value that is not a "
                                         f"number ({text!r}).") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path!r} is not a text CSV file.") from None
    return columns


class CSVLogger(Callback):
    """``history.csv`` written at the start of a fit, grown by one row per generation and
    rewritten whole at the end, so a killed run keeps every finished generation.

    The file always equals :func:`write_history` of the generations so far (on resume or
    ``warm_start`` it starts from the estimator's existing history). A failed append stops
    the appends, with a warning; the file is rewritten when the fit ends.

    Parameters
    ----------
    path : str or path-like
        The CSV file (its folder is created).
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._rows = 0
        self._failed = False

    def on_fit_start(self, estimator):
        write_history(estimator.history_, self.path)
        self._rows = len(next(iter(estimator.history_.values()), []))
        self._failed = False

    def on_generation(self, estimator, record):
        history = estimator.history_
        keys = list(history)
        n_done = len(history[keys[0]])
        if self._failed or n_done <= self._rows:
            return
        try:
            with open(self.path, "a", newline="") as fh:
                csv.writer(fh).writerows([history[k][i] for k in keys]
                                         for i in range(self._rows, n_done))
                fh.flush()
        except OSError as exc:
            self._failed = True
            warnings.warn(f"cannot append to {self.path!r} ({exc.strerror or exc}); it will be "
                          "written when the fit ends.", RuntimeWarning, stacklevel=2)
            return
        self._rows = n_done

    def on_fit_end(self, estimator):
        history = getattr(estimator, "history_", None)
        if history is not None:
            write_history(history, self.path)


class TensorBoardLogger(Callback):
    """Every numeric column of each generation's record as a TensorBoard scalar
    (``satrlearn/<column>``, step = generation).

    Needs ``tensorboardX`` (``pip install "satrlearn[tensorboard]"``) or PyTorch's
    ``torch.utils.tensorboard``; the error says so when neither is installed.

    Parameters
    ----------
    log_dir : str or path-like
    """

    def __init__(self, log_dir):
        self.log_dir = os.fspath(log_dir)
        self._writer = None

    @staticmethod
    def _writer_class():
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ImportError(
                    'TensorBoardLogger needs tensorboardX: pip install "satrlearn[tensorboard]" '
                    "(or PyTorch with tensorboard).") from None
        return SummaryWriter

    def on_fit_start(self, estimator):
        self._writer = self._writer_class()(self.log_dir)

    def on_generation(self, estimator, record):
        step = int(record["generation"])
        for key, value in record.items():
            if key != "generation" and isinstance(value, (int, float)) and math.isfinite(value):
                self._writer.add_scalar(f"satrlearn/{key}", value, step)
        self._writer.flush()

    def on_fit_end(self, estimator):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


# --- the run folder -------------------------------------------------------------------------
RUN_FILES = ("policy.npz", "best_policy.npz", "history.csv", "learning_curve.png", "run.json")


def save_run(estimator, folder, overwrite=False, plot=True):
    """Write a fitted estimator's run folder, as ``satrlearn train`` does.

    ``policy.npz`` (the final deterministic network), ``best_policy.npz`` (the best evaluated
    one), ``history.csv``, ``learning_curve.png`` (when matplotlib is installed and ``plot``)
    and ``run.json`` (estimator, parameters, environment, counters, best score). Every file is
    written atomically. ``satrlearn evaluate FOLDER/policy.npz`` and ``satrlearn plot FOLDER``
    read it.

    Parameters
    ----------
    estimator : a fitted SATRSearch, ECSearch or ESSearch
    folder : str or path-like
        Created if needed.
    overwrite : bool, default=False
        A folder that already holds run files is refused unless True.
    plot : bool, default=True

    Returns
    -------
    dict
        ``file name -> path`` of what was written.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "policy_")
    folder = os.fspath(folder)
    present = [f for f in RUN_FILES if os.path.exists(os.path.join(folder, f))]
    if present and not overwrite:
        raise FileExistsError(f"{folder!r} already holds a run ({', '.join(present)}); pass "
                              "overwrite=True or another folder.")
    os.makedirs(folder, exist_ok=True)
    written = {
        "policy.npz": estimator.policy_.save(os.path.join(folder, "policy.npz")),
        "best_policy.npz": estimator.best_policy_.save(os.path.join(folder, "best_policy.npz")),
        "history.csv": write_history(estimator.history_, os.path.join(folder, "history.csv")),
    }
    if plot:
        try:
            from .plotting import plot_history
        except ImportError:
            plot = False
        else:
            png = os.path.join(folder, "learning_curve.png")
            try:
                plot_history(estimator.history_, png)
                written["learning_curve.png"] = png
            except ImportError:
                pass

    def jsonable(value):
        if isinstance(value, (np.integer, np.floating)):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        return repr(value)

    params = {k: jsonable(v) for k, v in estimator.get_params().items() if k != "callbacks"}
    run = {
        "status": "interrupted" if getattr(estimator, "interrupted_", False) else "finished",
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "estimator": type(estimator).__name__,
        "env": getattr(estimator, "_env_id", None),
        "env_kwargs": getattr(estimator, "_env_kwargs", None),
        "params": params,
        "generations": int(estimator.n_generations_),
        "env_steps": int(estimator.env_steps_),
        "wall_time": float(estimator.wall_time_),
        "best_score": jsonable(float(estimator.best_score_)),
        "reward_offset": float(estimator.reward_offset_),
    }
    path = os.path.join(folder, "run.json")
    atomic_write(path, lambda fh: json.dump(run, fh, indent=2), mode="w")
    written["run.json"] = path
    return written
