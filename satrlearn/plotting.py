"""Learning curves and search diagnostics from an estimator's ``history_``.

Needs matplotlib (``pip install "satrlearn[plot]"``). Figures are drawn on the Agg canvas
directly, without pyplot, so plotting never changes the backend of the caller's session.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_history", "PLOT_INSTALL_HINT"]

#: What to tell a user whose Python lacks matplotlib.
PLOT_INSTALL_HINT = 'plotting needs matplotlib: pip install "satrlearn[plot]"'

_REQUIRED = ("generation", "return_mean", "return_max", "return_det")


def _column(history, key):
    """One history column as floats (NaN where absent), or None when the key is missing."""
    if key not in history:
        return None
    return np.asarray([np.nan if v is None or v == "" else float(v) for v in history[key]],
                      dtype=np.float64)


def _positive_log(ax, values):
    """Log scale when every finite value is positive: energies and KLs span decades."""
    finite = values[np.isfinite(values)]
    if finite.size and np.all(finite > 0) and finite.max() > 10 * finite.min():
        ax.set_yscale("log")


def plot_history(history, path, title=None):
    """Draw the learning curve and the search diagnostics of a run into an image file.

    The figure has six panels: true returns (candidate mean, min-max band, best candidate, the
    deterministic network's episode and its evaluations on fresh episodes; the shaped training
    fitness when a reward offset was used) against generation and against wall time, then
    the signal energy
    ``||g||^2``, the KL divergence between successive distributions, the mean connection
    probability ``rho`` (mean ``|mu|`` for ES) and the mean entropy per generation.

    Parameters
    ----------
    history : dict of sequences
        An estimator's ``history_`` (or the same columns read back from ``history.csv``).
        ``generation``, ``return_mean``, ``return_max`` and ``return_det`` are required;
        panels whose columns are missing are left out.
    path : str or os.PathLike
        Where to write the image; the extension picks the format (``.png``, ``.pdf``, ``.svg``).
    title : str, optional
        Figure title, e.g. the environment and algorithm.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ImportError
        When matplotlib is not installed (the message says how to install it).
    ValueError
        When ``history`` lacks a required column or holds no generation.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise ImportError(PLOT_INSTALL_HINT) from None
    if not hasattr(history, "keys"):
        raise TypeError(f"history must be a dict of columns, got {type(history).__name__}.")
    missing = [key for key in _REQUIRED if key not in history]
    if missing:
        raise ValueError(
            f"history lacks the column(s) {', '.join(missing)}; pass an estimator's history_ "
            "or a history.csv written by `satrlearn train`.")
    gen = _column(history, "generation")
    if gen.size == 0:
        raise ValueError("history holds no generation yet: nothing to plot.")

    fig = Figure(figsize=(13, 7.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3)
    mean, best, det = (_column(history, k) for k in ("return_mean", "return_max", "return_det"))
    low = _column(history, "return_min")
    wall = _column(history, "wall_time")
    fitness = _column(history, "fitness_mean")
    shaped = fitness is not None and not np.allclose(fitness, mean, equal_nan=True)
    ev, ev_std = _column(history, "eval_mean"), _column(history, "eval_std")
    ev_top = _column(history, "eval_top_mean")

    def returns(ax, x, xlabel):
        if low is not None:
            ax.fill_between(x, low, best, color="tab:blue", alpha=0.15, label="population min-max")
        ax.plot(x, mean, color="tab:blue", label="population mean")
        ax.plot(x, best, color="tab:blue", linestyle=":", label="best candidate")
        ax.plot(x, det, color="tab:red", marker="." if x.size < 60 else None, alpha=0.5,
                linewidth=0.8, label="deterministic network (1 episode)")
        if ev is not None and np.isfinite(ev).any():
            done = np.isfinite(ev)
            ax.errorbar(x[done], ev[done], yerr=None if ev_std is None else ev_std[done],
                        color="tab:red", marker="o", markersize=3, capsize=2,
                        label="evaluation (mean ± std of fresh episodes)")
            if ev_top is not None:
                ax.plot(x[done], ev_top[done], color="tab:purple", marker="^", markersize=3,
                        linestyle="none", label="top candidate, same episodes")
        if shaped:
            ax.plot(x, fitness, color="tab:gray", linestyle="--",
                    label="training fitness (return less reward offset)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("true episode return")
        if xlabel == "generation":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)

    returns(axes[0, 0], gen, "generation")
    axes[0, 0].set_title("Return per generation")
    axes[0, 0].legend(fontsize="small", loc="best")
    if wall is not None:
        returns(axes[0, 1], wall, "wall time (s)")
        axes[0, 1].set_title("Return against wall time")
    else:
        axes[0, 1].set_axis_off()

    panels = [
        (axes[0, 2], "signal_energy", "Signal energy ||g||²", "||g||²", True),
        (axes[1, 0], "kl", "KL between successive distributions", "KL (nats)", True),
        (axes[1, 1], "mean_p", "Mean connection probability", "mean ρ (mean |μ| for ES)", False),
        (axes[1, 2], "entropy", "Mean entropy per parameter", "entropy (nats)", False),
    ]
    for ax, key, name, ylabel, log in panels:
        values = _column(history, key)
        if values is None:
            ax.set_axis_off()
            continue
        ax.plot(gen, values, color="tab:green")
        noise = _column(history, "noise_energy") if key == "signal_energy" else None
        if noise is not None and np.isfinite(noise).any():
            ax.plot(gen, noise, color="k", linestyle=":", label="no-information level")
            split = _column(history, "signal_split")
            if split is not None and np.isfinite(split).any():
                # only positive values show on the log axis; near 0 means no information
                ax.plot(gen, np.where(split > 0, split, np.nan), color="tab:purple",
                        linewidth=0.8, label="split-half estimate (> 0)")
            walk = _column(history, "signal_path")
            if walk is not None and np.isfinite(walk).any():
                # a fraction of the noise: on the same axis, times the noise level
                ax.plot(gen, np.where(walk > 0, walk * noise, np.nan), color="tab:orange",
                        linewidth=1.2, label="signal-path estimate (> 0)")
            ax.legend(fontsize="small", loc="best")
        if log:
            _positive_log(ax, values)
        ax.set_title(name)
        ax.set_xlabel("generation")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    path = os.fspath(path)
    fig.savefig(path, dpi=110)
    return path
