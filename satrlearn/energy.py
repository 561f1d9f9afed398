"""An analytical energy estimate of running (and training) a spiking policy.

Nothing here is measured on neuromorphic hardware: the operations a policy performs are
counted while it runs (spikes, synaptic events, neuron updates) and multiplied by published
energies per operation. The estimate says what the network's activity would cost on a chip
that spends energy only on events, next to the multiply-accumulates a dense float network of
the same size would need. docs/neuromorphic.md gives the sources and the figures for trained
Hopper and Humanoid policies.

Counted per environment step of a network with ``n`` neurons, ``S`` substeps, ``n_in``
observations and ``n_out`` outputs:

- recurrent synaptic operations: one per spike and per outgoing connection of the spiking
  neuron (the policy's own ``synaptic_events`` count);
- input synaptic operations: one per present input connection, once per environment step
  (the observation is held for the ``S`` substeps, so the input current is computed once);
- readout synaptic operations: one per present output connection, once per environment step;
- neuron updates: ``n * S`` (every neuron integrates its current every substep);
- spikes.

Dense references: the same network with float weights run densely, ``n_in * n + S * n * n +
n * n_out`` multiply-accumulates (MACs) per environment step, and a conventional float
recurrent network of the same size updated once per environment step, ``n_in * n + n * n +
n * n_out`` MACs.
"""

from __future__ import annotations

import numpy as np

from .network import split_params
from .rollout import make_env

__all__ = [
    "HOROWITZ_45NM",
    "LOIHI",
    "count_operations",
    "energy_report",
    "format_energy",
    "training_energy",
]

#: Intel Loihi (14 nm) energies per operation in joules, as reported by Davies et al.,
#: "Loihi: a neuromorphic manycore processor with on-chip learning", IEEE Micro 38(1), 2018:
#: a synaptic spike operation, an (active) neuron update, and a spike sent within a tile.
LOIHI = {"synaptic_op": 23.6e-12, "neuron_update": 81e-12, "spike": 1.7e-12}

#: 45 nm CMOS at 0.9 V, from M. Horowitz, "Computing's energy problem (and what we can do
#: about it)", ISSCC 2014: a 32-bit float multiply (3.7 pJ) plus add (0.9 pJ) is a
#: multiply-accumulate; an accumulate alone is the add.
HOROWITZ_45NM = {"mac": 4.6e-12, "ac": 0.9e-12, "fp32_mult": 3.7e-12, "fp32_add": 0.9e-12}


def _structure(policy) -> dict:
    """Connection counts of ``policy``: present input and output connections."""
    cfg = policy.config
    w_in, _, w_out = split_params(np.asarray(policy.params), cfg)
    return {"n_in": cfg.n_in, "n_hidden": cfg.n_hidden, "n_out": cfg.n_out,
            "substeps": cfg.substeps, "input_connections": int(np.count_nonzero(w_in)),
            "output_connections": int(np.count_nonzero(w_out))}


def count_operations(policy, env, n_episodes=1, seed=0, max_steps=None) -> list:
    """Run ``policy`` for ``n_episodes`` episodes and count its operations in each.

    Parameters
    ----------
    policy : RSNNPolicy
    env : str or gymnasium.Env
        A Gymnasium id (made and closed here) or an instance (used as given, left open).
    n_episodes : int, default=1
    seed : int, default=0
        Episode ``i`` resets the environment and the policy with ``seed + i``.
    max_steps : int, optional
        Cut episodes at this many steps.

    Returns
    -------
    list of dict
        Per episode: ``return`` (true, undiscounted), ``steps``, ``spikes``,
        ``recurrent_synaptic_ops``, ``input_synaptic_ops``, ``readout_synaptic_ops``,
        ``neuron_updates``.
    """
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, (int, np.integer)) \
            or n_episodes < 1:
        raise ValueError(f"n_episodes must be a positive integer, got {n_episodes!r}.")
    info = _structure(policy)
    own = isinstance(env, str)
    env = make_env(env) if own else env
    episodes = []
    try:
        for i in range(int(n_episodes)):
            obs, _ = env.reset(seed=seed + i)
            policy.reset(seed=seed + i)
            total, done = 0.0, False
            while not done and (max_steps is None or policy.steps < max_steps):
                obs, reward, terminated, truncated, _ = env.step(policy(obs))
                total += float(reward)
                done = terminated or truncated
            steps = policy.steps
            episodes.append({
                "return": total, "steps": steps, "spikes": policy.spikes,
                "recurrent_synaptic_ops": policy.synaptic_events,
                "input_synaptic_ops": info["input_connections"] * steps,
                "readout_synaptic_ops": info["output_connections"] * steps,
                "neuron_updates": info["n_hidden"] * info["substeps"] * steps,
            })
    finally:
        if own:
            env.close()
    return episodes


def _joules(ops: dict, info: dict, loihi: dict, cmos: dict) -> dict:
    """Energies (J) of one set of operation counts over ``ops['steps']`` env steps."""
    sops = (ops["recurrent_synaptic_ops"] + ops["input_synaptic_ops"]
            + ops["readout_synaptic_ops"])
    n, s, n_in, n_out = info["n_hidden"], info["substeps"], info["n_in"], info["n_out"]
    steps = ops["steps"]
    dense_rsnn_macs = steps * (n_in * n + s * n * n + n * n_out)
    dense_rnn_macs = steps * (n_in * n + n * n + n * n_out)
    return {
        "synaptic_ops": sops,
        "loihi_synaptic": sops * loihi["synaptic_op"],
        "loihi_neuron": ops["neuron_updates"] * loihi["neuron_update"],
        "loihi_spikes": ops["spikes"] * loihi["spike"],
        "loihi_total": (sops * loihi["synaptic_op"] + ops["neuron_updates"]
                        * loihi["neuron_update"] + ops["spikes"] * loihi["spike"]),
        # the same counts on 45 nm logic: binary weights make each synaptic op an add, a
        # neuron update two multiply-accumulates (membrane and synaptic current decays)
        "cmos_event_driven": sops * cmos["ac"] + ops["neuron_updates"] * 2 * cmos["mac"],
        "dense_rsnn_macs": dense_rsnn_macs,
        "dense_rsnn": dense_rsnn_macs * cmos["mac"],
        "dense_rnn_macs": dense_rnn_macs,
        "dense_rnn": dense_rnn_macs * cmos["mac"],
    }


def energy_report(policy, env, n_episodes=1, seed=0, max_steps=None, loihi=None,
                  cmos=None) -> dict:
    """Count the operations of ``policy`` on ``env`` and turn them into an energy estimate.

    An analytical estimate, not a measurement: see the module docstring for what is counted
    and docs/neuromorphic.md for the sources of the energies.

    Parameters
    ----------
    policy : RSNNPolicy
    env : str or gymnasium.Env
    n_episodes : int, default=1
    seed : int, default=0
    max_steps : int, optional
    loihi, cmos : dict, optional
        Energies per operation in joules (default :data:`LOIHI` and
        :data:`HOROWITZ_45NM`); pass your own to use other figures.

    Returns
    -------
    dict
        ``episodes`` (the per-episode counts of :func:`count_operations` with their
        energies), ``per_step`` and ``per_episode`` (means over the episodes: counts and
        joules), ``network`` (sizes and connection counts), ``costs`` (the energies used) and
        ``mean_return`` (true return).
    """
    loihi = dict(LOIHI if loihi is None else loihi)
    cmos = dict(HOROWITZ_45NM if cmos is None else cmos)
    info = _structure(policy)
    episodes = count_operations(policy, env, n_episodes=n_episodes, seed=seed,
                                max_steps=max_steps)
    for ep in episodes:
        ep.update(_joules(ep, info, loihi, cmos))
    keys = [k for k in episodes[0] if k != "return"]
    total_steps = sum(ep["steps"] for ep in episodes)
    per_episode = {k: float(np.mean([ep[k] for ep in episodes])) for k in keys}
    per_step = {k: float(sum(ep[k] for ep in episodes) / max(total_steps, 1))
                for k in keys if k != "steps"}
    return {"episodes": episodes, "per_episode": per_episode, "per_step": per_step,
            "network": info, "costs": {"loihi": loihi, "cmos_45nm": cmos},
            "mean_return": float(np.mean([ep["return"] for ep in episodes]))}


def training_energy(history, per_step, n_workers=1) -> dict:
    """Estimate the event energy of a fit from its env steps and a per-step estimate.

    Parameters
    ----------
    history : dict
        An estimator's ``history_`` (or ``satrlearn.cli.read_history`` of a history.csv):
        its last ``env_steps`` (cumulative) and ``wall_time`` (seconds) are used.
    per_step : dict
        ``energy_report(...)["per_step"]`` of a policy of that fit: the estimate assumes
        every candidate network was as active per step as that one.
    n_workers : int, default=1
        Worker processes of the fit; ``cpu_seconds`` is ``wall_time * n_workers``, the
        measured CPU time of comparison (an upper bound: workers idle at times).

    Returns
    -------
    dict
        ``env_steps``, ``wall_time``, ``cpu_seconds``, and per quantity of ``per_step`` its
        total over the fit (counts and joules).
    """
    env_steps = float(list(history["env_steps"])[-1])
    wall = float(list(history["wall_time"])[-1])
    out = {"env_steps": env_steps, "wall_time": wall, "cpu_seconds": wall * n_workers}
    for key, value in per_step.items():
        out[key] = value * env_steps
    return out


def _si(joules: float) -> str:
    for unit, scale in (("J", 1.0), ("mJ", 1e-3), ("uJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12)):
        if abs(joules) >= scale:
            return f"{joules / scale:.3g} {unit}"
    return f"{joules:.3g} J"


def format_energy(report: dict) -> list:
    """Lines of text summarising :func:`energy_report` (what ``evaluate --energy`` prints)."""
    s, e = report["per_step"], report["per_episode"]
    net = report["network"]
    lines = [
        ("energy estimate (analytical: counted operations x published energies per "
         "operation, not a measurement; see docs/neuromorphic.md)"),
        (f"  network {net['n_in']}-{net['n_hidden']}-{net['n_out']}, {net['substeps']} "
         f"substeps per step; mean true return {report['mean_return']:.1f}, "
         f"{e['steps']:.0f} steps per episode"),
        (f"  per step: {s['spikes']:,.1f} spikes, {s['synaptic_ops']:,.0f} synaptic ops "
         f"({s['recurrent_synaptic_ops']:,.0f} recurrent), {s['neuron_updates']:,.0f} "
         "neuron updates"),
        (f"  Loihi (Davies et al. 2018): {_si(s['loihi_total'])} per step, "
         f"{_si(e['loihi_total'])} per episode"),
        (f"  same counts on 45 nm logic (Horowitz 2014): {_si(s['cmos_event_driven'])} "
         "per step"),
        (f"  dense float references (4.6 pJ per MAC, 45 nm): this network run densely "
         f"{s['dense_rsnn_macs']:,.0f} MACs = {_si(s['dense_rsnn'])} per step; a float RNN "
         f"of the same size {s['dense_rnn_macs']:,.0f} MACs = {_si(s['dense_rnn'])} per step"),
    ]
    return lines
