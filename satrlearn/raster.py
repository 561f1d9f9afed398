"""Record what the hidden neurons do during an episode, and draw it as a spike raster.

:func:`record_episode` runs a policy for one episode and keeps, for every substep, the spikes
and membrane potentials of the hidden neurons, with the observations, actions and the true
return. :func:`run_reference` does the same for a given sequence of observations (no
environment). Both step the network one substep at a time with
:func:`satrlearn.network.float_step`, the plain numpy form of the network equations, and check
every readout against the bitset kernel that the policy itself runs.

:func:`plot_raster` draws one recorded episode (needs matplotlib, the ``plot`` extra).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .network import float_step, split_params
from .policy import NetworkBatch
from .rollout import make_env

__all__ = ["initial_membrane", "plot_raster", "record_episode", "run_reference"]


def initial_membrane(policy, seed) -> np.ndarray:
    """The membrane potentials a network of ``policy`` starts an episode with for ``seed``.

    The same draw as :meth:`NetworkBatch.reset` with that seed: uniform in ``[0, v_th)``.
    """
    net = NetworkBatch(policy.config, policy.params, k=1)
    net.reset(seeds=[seed])
    return net.v[0].copy()


class _Stepper:
    """One network stepped a substep at a time (float reference) beside the bitset kernel."""

    def __init__(self, policy, v0, record_v=True):
        cfg = policy.config
        self.policy = policy
        self.cfg1 = dataclasses.replace(cfg, sim_time=cfg.dt)  # one substep per call
        self.substeps = cfg.substeps
        w_in, w_h, w_out = split_params(np.asarray(policy.params), cfg)
        self.w = tuple(np.asarray(m, dtype=np.float64)[None] for m in (w_in, w_h, w_out))
        n = cfg.n_hidden
        self.v = np.asarray(v0, dtype=np.float64).reshape(1, n).copy()
        self.i_syn = np.zeros((1, n))
        self.r = np.zeros((1, n))
        self.s = np.zeros((1, n), dtype=bool)
        self.kernel = NetworkBatch(cfg, policy.params, k=1)
        self.kernel.reset(seeds=[0])
        self.kernel.v[0] = self.v[0]
        self.record_v = record_v
        self.max_kernel_diff = 0.0

    def step(self, obs):
        """Advance one env step; returns ``(y, spikes (S, n), v (S, n) or None)``."""
        x = self.policy.normalizer(np.asarray(obs, dtype=np.float64).reshape(1, -1))
        spikes = np.zeros((self.substeps, self.v.shape[1]), dtype=bool)
        vs = np.zeros((self.substeps, self.v.shape[1]), dtype=np.float32) if self.record_v \
            else None
        y = None
        for t in range(self.substeps):
            y = float_step(x, *self.w, self.v, self.i_syn, self.r, self.s, self.cfg1)
            spikes[t] = self.s[0]
            if vs is not None:
                vs[t] = self.v[0]
        y_kernel = self.kernel.step(x)[0].copy()
        self.max_kernel_diff = max(self.max_kernel_diff,
                                   float(np.max(np.abs(y_kernel - y[0]), initial=0.0)))
        return y_kernel, spikes, vs


def run_reference(policy, observations, v0, record_v=False) -> dict:
    """satrlearn's run of ``policy`` on a sequence of observations, substep by substep.

    Parameters
    ----------
    policy : RSNNPolicy
    observations : array of shape (T, n_in)
        Raw (unnormalised) observations, one per environment step.
    v0 : array of shape (n_hidden,)
        Initial membrane potentials (e.g. :func:`initial_membrane`).
    record_v : bool, default=False
        Keep the membrane potentials of every substep (float32).

    Returns
    -------
    dict
        ``spikes`` bool ``(T, S, n)``, ``y`` readouts ``(T, n_out)``, ``actions``, ``v``
        (``(T, S, n)`` or None) and ``kernel_max_diff``, the largest difference between the
        float reference's readout and the bitset kernel's (0 up to float rounding).
    """
    stepper = _Stepper(policy, v0, record_v=record_v)
    obs = np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)
    ys, spikes, vs = [], [], []
    for o in obs:
        y, s, v = stepper.step(o)
        ys.append(y)
        spikes.append(s)
        vs.append(v)
    y = np.asarray(ys).reshape(len(obs), policy.config.n_out)
    return {"spikes": np.asarray(spikes), "y": y, "actions": policy.action_map(y),
            "v": np.asarray(vs) if record_v else None,
            "kernel_max_diff": stepper.max_kernel_diff}


def record_episode(policy, env, seed=0, max_steps=None, record_v=True) -> dict:
    """Run ``policy`` for one episode of ``env`` and record its neurons substep by substep.

    Parameters
    ----------
    policy : RSNNPolicy
    env : str or gymnasium.Env
        A Gymnasium id (made and closed here) or an environment instance (used as given,
        left open).
    seed : int, default=0
        Seeds the episode (``env.reset(seed=seed)``) and the initial membrane potentials
        (:func:`initial_membrane`).
    max_steps : int, optional
        Stop after this many steps (default: when the episode ends).
    record_v : bool, default=True
        Keep the membrane potentials of every substep (float32, ``T * S * n`` values).

    Returns
    -------
    dict
        ``observations`` ``(T, n_in)`` (those the policy acted on), ``actions``, ``rewards``,
        ``return`` (the environment's true, undiscounted return), ``length``, ``spikes``
        bool ``(T, S, n)``, ``v`` ``(T, S, n)`` or None, ``v0``, ``n_exc``, ``dt`` (ms),
        ``seed``, and ``kernel_max_diff`` (see :func:`run_reference`).
    """
    own = isinstance(env, str)
    if own:
        env = make_env(env)
    try:
        v0 = initial_membrane(policy, seed)
        stepper = _Stepper(policy, v0, record_v=record_v)
        obs, _ = env.reset(seed=seed)
        observations, actions, rewards, spikes, vs = [], [], [], [], []
        done = False
        while not done and (max_steps is None or len(rewards) < max_steps):
            flat = np.asarray(obs, dtype=np.float64).ravel()
            y, s, v = stepper.step(flat)
            action = policy.action_map(y[None])[0]
            observations.append(flat)
            actions.append(action)
            spikes.append(s)
            vs.append(v)
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(float(reward))
            done = terminated or truncated
    finally:
        if own:
            env.close()
    cfg = policy.config
    return {"observations": np.asarray(observations), "actions": np.asarray(actions),
            "rewards": np.asarray(rewards), "return": float(np.sum(rewards)),
            "length": len(rewards), "spikes": np.asarray(spikes),
            "v": np.asarray(vs) if record_v else None, "v0": v0, "n_exc": cfg.n_exc,
            "dt": cfg.dt, "v_th": cfg.v_th, "seed": seed,
            "kernel_max_diff": stepper.max_kernel_diff}


def plot_raster(policy, env, path, seed=0, max_steps=None, n_membrane=4, title=None,
                recording=None) -> str:
    """Draw the spike raster, a few membrane potentials and the actions of one episode.

    Four panels share the time axis (ms of simulated time; one environment step is
    ``sim_time`` ms): the spikes of the excitatory neurons, those of the inhibitory neurons,
    the membrane potential of ``n_membrane`` neurons (the most active excitatory and
    inhibitory ones) with the threshold, and the actions (held over each environment step).

    Parameters
    ----------
    policy : RSNNPolicy
    env : str or gymnasium.Env
        The environment to run one episode of (see :func:`record_episode`).
    path : str or os.PathLike
        The image to write; the extension picks the format (``.png``, ``.pdf``, ``.svg``).
    seed : int, default=0
        Seeds the episode and the initial membrane potentials.
    max_steps : int, optional
        Draw only the first ``max_steps`` environment steps of the episode (a whole
        1,000-step episode is 33,000 substeps: a raster is easier to read cut short). The
        episode itself runs to its end.
    n_membrane : int, default=4
        Neurons whose membrane potential is drawn.
    title : str, optional
        Figure title; by default the policy's sizes and the episode's true return.
    recording : dict, optional
        A result of :func:`record_episode` to draw instead of running a new episode.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ImportError
        When matplotlib is not installed (the message says how to install it).
    """
    from .plotting import PLOT_INSTALL_HINT

    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(PLOT_INSTALL_HINT) from None
    import os

    # the whole episode is run (its true return is in the title); max_steps cuts the drawing
    rec = recording if recording is not None else record_episode(
        policy, env, seed=seed, record_v=True)
    spikes = rec["spikes"]
    actions = np.asarray(rec["actions"], dtype=np.float64)
    if max_steps is not None:
        spikes, actions = spikes[:max_steps], actions[:max_steps]
    t_steps, substeps, n = spikes.shape
    dt = rec["dt"]
    flat = spikes.reshape(t_steps * substeps, n)
    times = np.arange(t_steps * substeps) * dt
    n_exc = rec["n_exc"]

    fig = Figure(figsize=(11, 9), constrained_layout=True)
    FigureCanvasAgg(fig)
    heights = [3, 3, 2, 2] if rec.get("v") is not None else [3, 3, 2]
    axes = fig.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})
    for ax, lo, hi, color, label in ((axes[0], 0, n_exc, "tab:red", "excitatory"),
                                     (axes[1], n_exc, n, "tab:blue", "inhibitory")):
        tt, jj = np.nonzero(flat[:, lo:hi])
        ax.scatter(times[tt], jj, s=0.6, marker="|", color=color, linewidths=0.5)
        ax.set_ylim(-0.5, max(hi - lo, 1) - 0.5)
        rate = flat[:, lo:hi].mean() / (dt * 1e-3) if hi > lo else 0.0
        ax.set_ylabel(f"{label}\nneuron")
        ax.set_title(f"{label} neurons ({hi - lo}): {int(flat[:, lo:hi].sum()):,} spikes, "
                     f"{rate:.1f} Hz mean rate", fontsize=9, loc="left")
    ax_a = axes[-1]
    if rec.get("v") is not None:
        v = rec["v"][:t_steps].reshape(t_steps * substeps, n)
        counts = flat.sum(axis=0)
        half = max(n_membrane // 2, 1)
        picks = _typical(counts[:n_exc], half) + [
            n_exc + j for j in _typical(counts[n_exc:], n_membrane - half)]
        ax_v = axes[2]
        for j in picks[:n_membrane]:
            kind = "exc" if j < n_exc else "inh"
            ax_v.plot(times, v[:, j], lw=0.6, label=f"neuron {j} ({kind})")
        ax_v.axhline(rec["v_th"], color="k", ls=":", lw=0.8, label="threshold")
        ax_v.set_ylabel("membrane v")
        ax_v.set_title("membrane potential of neurons of median activity", fontsize=9,
                       loc="left")
        ax_v.legend(fontsize=7, loc="lower left", ncol=len(picks) + 1)
    step_times = np.arange(t_steps + 1) * substeps * dt
    acts = actions.reshape(t_steps, -1)
    if acts.shape[1] > 8:
        acts = acts[:, :8]
        ax_a.set_title("first 8 action dimensions", fontsize=9, loc="left")
    for d in range(acts.shape[1]):
        ax_a.stairs(acts[:, d], step_times, lw=0.8, label=f"a[{d}]")
    ax_a.set_ylabel("action")
    ax_a.set_xlabel(f"simulated time (ms); one environment step = {substeps} substeps of "
                    f"{dt:g} ms")
    ax_a.legend(fontsize=7, loc="upper right", ncol=min(acts.shape[1], 8))
    if title is None:
        cfg = policy.config
        shown = f", first {t_steps} steps shown" if t_steps < rec["length"] else ""
        title = (f"RSNN {cfg.n_in}-{cfg.n_hidden}-{cfg.n_out}: episode seed {rec['seed']}, "
                 f"{rec['length']} steps, true return {rec['return']:.1f}{shown}")
    fig.suptitle(title, fontsize=10)
    path = os.fspath(path)
    fig.savefig(path, dpi=110)
    return path


def _typical(counts, k) -> list:
    """``k`` neurons whose spike counts are closest to the median of the active ones."""
    if k <= 0 or counts.size == 0:
        return []
    active = np.flatnonzero(counts > 0)
    if active.size == 0:
        return list(range(min(k, counts.size)))
    median = np.median(counts[active])
    order = active[np.argsort(np.abs(counts[active] - median), kind="stable")]
    return [int(j) for j in order[:k]]
