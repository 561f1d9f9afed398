"""Export a policy to the Neuromorphic Intermediate Representation (NIR) and read it back.

Needs the ``nir`` package (``pip install "satrlearn[nir]"``). A NIR graph describes the
spiking network with NIR's primitives (``Affine``, ``Linear``, ``LIF``, ``LI``, ``CubaLIF``),
so that other simulators and neuromorphic toolchains can run it. :func:`to_nir` writes one of
three variants of the graph:

``"exact"`` (the default, the faithful description)
    Time constants in milliseconds, as NIR documents them::

        Input -> Affine(normaliser: [x, -x]) -> Linear(r_in W_in) -> LIF(tau_m)
        LIF -> Linear(r_h * signed W_h) -> LI(tau_syn) -> LIF        (the recurrent loop)
        LIF -> LI(tau_out) -> Linear(r_out * signed W_out) -> Affine(action scaling) -> Output

    Simulated in steps of ``dt`` milliseconds, each node integrating its input exactly over a
    step (zero-order hold), a spike entering its targets as a pulse of area 1 (height
    ``1 / dt`` for one step) and the recurrent loop taking one step, it reproduces satrlearn's
    equations (SPEC section 1) exactly.
``"euler"``
    The same graph for simulators that integrate with forward Euler (``x += dt / tau * (...)``)
    and pass spikes as 0/1 per step: every time constant is replaced by ``dt / (1 - a)``, with
    ``a`` the exact per-step decay, and the resistances are chosen so that one step of Euler
    equals one step of satrlearn.
``"snntorch"``
    A variant that snnTorch 1.0.0's ``import_from_nir`` can build: the neuron is a ``CubaLIF``
    whose synapse also filters the input current (an approximation: satrlearn's input current
    reaches the membrane directly), time constants for snnTorch's fixed ``dt = 1e-4``, a
    pass-through ``Linear`` in the recurrent loop, and a non-firing ``CubaLIF`` readout whose
    membrane potential is the readout ``y``.

What NIR cannot express is carried in the graph's metadata: the clipping of normalised
observations to ``[-clip, clip]``, the clipping of actions to the action space (Box) or the
argmax (Discrete), the number of substeps per environment step, and everything
:func:`from_nir` needs to rebuild the policy exactly (network settings, the normaliser's
statistics, the action space). ``docs/neuromorphic.md`` describes the graphs, their
semantics and how well other simulators reproduce them.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .network import NetworkConfig, split_params
from .normalization import Moments, ObservationNormalizer
from .policy import ActionMap, RSNNPolicy

__all__ = [
    "NIR_INSTALL_HINT",
    "VARIANTS",
    "compare_with_consumer",
    "consumer_episode",
    "from_nir",
    "graph_constants",
    "read_nir",
    "to_nir",
    "write_nir",
]

#: The graph variants :func:`to_nir` writes.
VARIANTS = ("exact", "euler", "snntorch")
#: What to tell a user whose Python lacks the ``nir`` package.
NIR_INSTALL_HINT = 'NIR export needs the nir package: pip install "satrlearn[nir]"'
#: The time step snnTorch 1.0.0's importer assumes (seconds), used by the ``snntorch`` variant.
SNNTORCH_DT = 1e-4
_FORMAT = "satrlearn-nir"
_VERSION = 1


def _nir():
    try:
        import nir
    except ImportError:
        raise ImportError(NIR_INSTALL_HINT) from None
    return nir


def graph_constants(config: NetworkConfig, variant: str = "exact") -> dict:
    """The neuron constants of each variant's graph, derived from ``config``.

    Parameters
    ----------
    config : NetworkConfig
    variant : {"exact", "euler", "snntorch"}

    Returns
    -------
    dict
        ``tau_m``, ``tau_syn``, ``tau_out`` and the resistances ``r_m``, ``r_syn``, ``r_out``
        of the membrane, synapse and readout nodes, plus ``dt``, the step the graph is meant
        to be simulated with (milliseconds; seconds for ``"snntorch"``).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown NIR variant {variant!r}; choose one of {VARIANTS}.")
    a_syn, a_m, a_out = config.decays
    dt = config.dt
    if variant == "exact":
        return {"dt": dt, "tau_m": config.tau_m, "tau_syn": config.tau_syn,
                "tau_out": config.tau_out, "r_m": 1.0, "r_syn": dt / (1.0 - a_syn),
                "r_out": 1.0}
    if variant == "euler":
        return {"dt": dt, "tau_m": dt / (1.0 - a_m), "tau_syn": dt / (1.0 - a_syn),
                "tau_out": dt / (1.0 - a_out), "r_m": 1.0, "r_syn": 1.0 / (1.0 - a_syn),
                "r_out": 1.0 / dt}
    step = SNNTORCH_DT
    tau_m = step / (1.0 - a_m)
    tau_out = step / (1.0 - a_out)
    return {"dt": step, "tau_m": tau_m, "tau_syn": step / (1.0 - a_syn), "tau_out": tau_out,
            "r_m": tau_m / step, "r_syn": (1.0 - a_m) / (1.0 - a_syn), "r_out": tau_out / step}


def _masks(policy: RSNNPolicy):
    """``W_in, W_h, W_out`` as float64 arrays (0/1 for a binary network)."""
    w_in, w_h, w_out = split_params(policy.params, policy.config)
    return (np.asarray(w_in, dtype=np.float64), np.asarray(w_h, dtype=np.float64),
            np.asarray(w_out, dtype=np.float64))


def _mid_half(action_map: ActionMap):
    """Centre and half-width of the Box rescaling ``mid + half * clip(y, -1, 1)``.

    Dimensions with an infinite bound get the clipped value itself (mid 0, half 1), as
    :class:`~satrlearn.policy.ActionMap` does.
    """
    low = np.asarray(action_map.low, dtype=np.float64)
    high = np.asarray(action_map.high, dtype=np.float64)
    finite = np.isfinite(low) & np.isfinite(high)
    low, high = np.where(finite, low, 0.0), np.where(finite, high, 0.0)
    return (np.where(finite, (high + low) / 2.0, 0.0),
            np.where(finite, (high - low) / 2.0, 1.0))


def _action_bounds(action_map: ActionMap):
    """``(low, high)`` of the clipped, rescaled Box action: ``mid -+ half`` per dimension."""
    mid, half = _mid_half(action_map)
    return mid - half, mid + half


def to_nir(policy: RSNNPolicy, variant: str = "exact"):
    """Describe ``policy`` as a ``nir.NIRGraph``.

    Parameters
    ----------
    policy : RSNNPolicy
        A binary or real-valued (ES) policy.
    variant : {"exact", "euler", "snntorch"}, default="exact"
        ``"exact"`` is the faithful description (time constants in ms); ``"euler"`` and
        ``"snntorch"`` are adapted to simulators that integrate with forward Euler, and to
        snnTorch 1.0.0's importer (see the module docstring and docs/neuromorphic.md).

    Returns
    -------
    nir.NIRGraph
        Weights are ``(out, in)``, NIR's convention. The graph's metadata holds the
        ``satrlearn`` record that :func:`from_nir` reads, the substeps per environment step,
        the observation clip and the action rule.

    Raises
    ------
    ImportError
        When the ``nir`` package is missing (the message says how to install it).
    ValueError
        For an unknown variant, or the ``"snntorch"`` variant of a network whose ``v_reset``
        is not 0 (snnTorch resets to 0 and has no leak potential).
    """
    nir = _nir()
    if not isinstance(policy, RSNNPolicy):
        raise TypeError(f"to_nir takes an RSNNPolicy, got {type(policy).__name__}.")
    cfg = policy.config
    k = graph_constants(cfg, variant)
    if variant == "snntorch" and cfg.v_reset != 0.0:
        raise ValueError(
            f"the snntorch variant needs v_reset = 0 (snnTorch resets the membrane to 0 and "
            f"has no leak potential), this network has v_reset = {cfg.v_reset}; export the "
            "'exact' or 'euler' variant instead.")
    n, n_in, n_out = cfg.n_hidden, cfg.n_in, cfg.n_out
    a_syn, _, a_out = cfg.decays
    signs = cfg.signs
    w_in, w_h, w_out = _masks(policy)
    norm = policy.normalizer
    scale, mean = norm.scale, norm.mean
    full = np.full

    nodes = {"input": nir.Input(input_type={"input": np.array([n_in])})}
    # the normaliser without its clip: [x, -x] with x = (obs - mean) * scale
    nodes["normalize"] = nir.Affine(
        weight=np.vstack([np.diag(scale), -np.diag(scale)]),
        bias=np.concatenate([-mean * scale, mean * scale]))
    in_gain = cfg.r_in * ((1.0 - a_syn) if variant == "snntorch" else 1.0)
    nodes["w_in"] = nir.Linear(weight=in_gain * w_in.T)
    nodes["w_rec"] = nir.Linear(weight=cfg.r_h * (signs[:, None] * w_h).T)
    edges = [("input", "normalize"), ("normalize", "w_in"), ("w_in", "lif"),
             ("lif", "w_rec")]
    if variant == "snntorch":
        nodes["lif"] = nir.CubaLIF(
            tau_syn=full(n, k["tau_syn"]), tau_mem=full(n, k["tau_m"]), r=full(n, k["r_m"]),
            v_leak=np.zeros(n), v_threshold=full(n, cfg.v_th), v_reset=np.zeros(n),
            w_in=full(n, k["r_syn"]))
        nodes["rec_pass"] = nir.Linear(weight=np.eye(n))
        # readout y = r_out W_out (signed trace): the trace filter sits in the membrane of a
        # CubaLIF that never fires (synapse time constant = the step: no filtering)
        nodes["w_out"] = nir.Linear(
            weight=cfg.r_out * (1.0 - a_out) / cfg.dt * (signs[:, None] * w_out).T)
        nodes["readout"] = nir.CubaLIF(
            tau_syn=full(n_out, SNNTORCH_DT), tau_mem=full(n_out, k["tau_out"]),
            r=full(n_out, k["r_out"]), v_leak=np.zeros(n_out),
            v_threshold=full(n_out, np.inf), v_reset=np.zeros(n_out), w_in=np.ones(n_out))
        edges += [("w_rec", "rec_pass"), ("rec_pass", "lif"), ("lif", "w_out"),
                  ("w_out", "readout"), ("readout", "output")]
    else:
        nodes["lif"] = nir.LIF(
            tau=full(n, k["tau_m"]), r=full(n, k["r_m"]), v_leak=full(n, cfg.v_reset),
            v_threshold=full(n, cfg.v_th), v_reset=full(n, cfg.v_reset))
        nodes["syn"] = nir.LI(tau=full(n, k["tau_syn"]), r=full(n, k["r_syn"]),
                              v_leak=np.zeros(n))
        nodes["trace"] = nir.LI(tau=full(n, k["tau_out"]), r=full(n, k["r_out"]),
                                v_leak=np.zeros(n))
        nodes["w_out"] = nir.Linear(weight=cfg.r_out * (signs[:, None] * w_out).T)
        edges += [("w_rec", "syn"), ("syn", "lif"), ("lif", "trace"), ("trace", "w_out")]
        amap = policy.action_map
        if amap.kind == "box":
            mid, half = _mid_half(amap)
            nodes["action"] = nir.Affine(weight=np.diag(half), bias=mid)
            edges += [("w_out", "action"), ("action", "output")]
        else:
            edges += [("w_out", "output")]
    nodes["output"] = nir.Output(output_type={"output": np.array([n_out])})
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=_metadata(policy, variant, k))


def _metadata(policy: RSNNPolicy, variant: str, k: dict) -> dict:
    """Graph metadata: a readable summary plus the exact record :func:`from_nir` reads."""
    cfg = policy.config
    amap = policy.action_map
    record = {
        "format": _FORMAT, "version": _VERSION, "variant": variant,
        "network": cfg.to_dict(), "action_space": amap.to_dict(),
        "binary": bool(policy.binary), "observation_shape": list(policy.observation_shape),
        "obs_count": policy.normalizer.moments.count, "obs_clip": policy.normalizer.clip,
        "obs_eps": policy.normalizer.eps,
    }
    if amap.kind == "box":
        low, high = _action_bounds(amap)
        action_rule = ("Box: the graph output is the action; clip it to [action_low, "
                       "action_high]" if variant != "snntorch" else
                       "Box: action = action_mid + action_half * clip(y, -1, 1), y the "
                       "membrane potential of the readout node")
    else:
        low = high = None
        action_rule = f"Discrete: action = argmax(output) + {amap.start}"
    action_info = {"action_kind": amap.kind}
    if amap.kind == "discrete":
        action_info["action_start"] = int(amap.start)
    meta = {
        "satrlearn": json.dumps(record),
        "variant": variant,
        "time_unit": "s" if variant == "snntorch" else "ms",
        "dt": float(k["dt"]),
        "substeps_per_env_step": int(cfg.substeps),
        "spikes": ("0/1 per step" if variant != "exact" else
                   "pulses of area 1 (height 1/dt for one step)"),
        "integration": ("exact exponential over each step (zero-order hold)"
                        if variant == "exact" else "forward Euler"),
        "protocol": ("hold each observation for substeps_per_env_step steps of dt; the action "
                     "is read after the last of them; the recurrent loop takes one step"),
        "observation_clip": float(policy.normalizer.clip),
        "observation_clip_note": ("clip the output of node 'normalize' to [-observation_clip, "
                                  "observation_clip]; NIR has no clip primitive"),
        "action_rule": action_rule,
        "initial_state": ("membrane potentials uniform in [0, v_threshold) at episode start, "
                          "all other states 0"),
        "obs_mean": np.asarray(policy.normalizer.moments.mean, dtype=np.float64),
        "obs_m2": np.asarray(policy.normalizer.moments.m2, dtype=np.float64),
        **action_info,
    }
    if low is not None:
        meta["action_low"] = np.asarray(low, dtype=np.float64)
        meta["action_high"] = np.asarray(high, dtype=np.float64)
        meta["action_mid"], meta["action_half"] = _mid_half(amap)
    return meta


def _text(value):
    """A metadata string as read back from a file (bytes, numpy bytes or str)."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        value = bytes(value).decode("utf8")
    return value


def from_nir(graph, seed=None) -> RSNNPolicy:
    """Rebuild the policy that :func:`to_nir` described.

    The connections are read from the graph's weights (which entries are non-zero, or their
    values for a real-valued network), the network settings, the normaliser's statistics and
    the action space from the ``satrlearn`` record in the metadata. Every node of the graph is
    then checked against the graph the rebuilt policy exports (time constants, thresholds,
    resets, resistances, weights, edges), so a graph that was edited after export is refused
    rather than silently read as something else.

    Parameters
    ----------
    graph : nir.NIRGraph, str or os.PathLike
        A graph from :func:`to_nir` (any variant) or a ``.nir`` file written by
        :func:`write_nir`.
    seed : int, optional
        Seeds the policy's initial membrane potentials.

    Returns
    -------
    RSNNPolicy
        With the same connections, settings, normaliser and action space as the exported
        policy: it acts identically, spike for spike.

    Raises
    ------
    ValueError
        When the graph carries no satrlearn record (it was not written by :func:`to_nir`), or
        its nodes disagree with that record.
    """
    nir = _nir()
    if isinstance(graph, (str, os.PathLike)):
        graph = read_nir(graph)
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"from_nir takes a nir.NIRGraph or a file path, got "
                        f"{type(graph).__name__}.")
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    if "satrlearn" not in meta:
        raise ValueError(
            "this NIR graph has no 'satrlearn' metadata, so it was not written by "
            "satrlearn.nir.to_nir; from_nir rebuilds only graphs that to_nir wrote (NIR "
            "carries no training constants such as the gains k_in, k_h, k_out).")
    try:
        record = json.loads(_text(meta["satrlearn"]))
        if record.get("format") != _FORMAT:
            raise ValueError(f"unknown record format {record.get('format')!r}")
        if record.get("version") != _VERSION:
            raise ValueError(f"record version {record.get('version')!r}; this satrlearn "
                             f"reads version {_VERSION}. Upgrade satrlearn")
        variant = record["variant"]
        cfg = NetworkConfig.from_dict(record["network"])
        n_in = cfg.n_in
        normalizer = ObservationNormalizer(n_in, clip=float(record["obs_clip"]),
                                           eps=float(record["obs_eps"]))
        normalizer.moments = Moments(n_in, float(record["obs_count"]),
                                     np.asarray(meta["obs_mean"], dtype=np.float64).reshape(n_in),
                                     np.asarray(meta["obs_m2"], dtype=np.float64).reshape(n_in))
        normalizer._refresh()
        action_map = ActionMap.from_dict(record["action_space"])
        params = _params_from_graph(graph, cfg, variant, bool(record["binary"]))
        policy = RSNNPolicy(cfg, params, normalizer, action_map, seed=seed,
                            observation_shape=record.get("observation_shape"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"this NIR graph is not a readable satrlearn export: "
                         f"{type(exc).__name__}: {exc}.") from None
    _check_same(graph, to_nir(policy, variant))
    return policy


def _params_from_graph(graph, cfg: NetworkConfig, variant: str, binary: bool) -> np.ndarray:
    """The flat connections ``[W_in, W_h, W_out]`` from the graph's Linear weights."""
    a_syn, _, a_out = cfg.decays
    signs = cfg.signs
    n, n_in, n_out = cfg.n_hidden, cfg.n_in, cfg.n_out
    in_gain = cfg.r_in * ((1.0 - a_syn) if variant == "snntorch" else 1.0)
    out_gain = cfg.r_out * ((1.0 - a_out) / cfg.dt if variant == "snntorch" else 1.0)
    w_in = np.asarray(graph.nodes["w_in"].weight, dtype=np.float64)
    w_rec = np.asarray(graph.nodes["w_rec"].weight, dtype=np.float64)
    w_out = np.asarray(graph.nodes["w_out"].weight, dtype=np.float64)
    for name, got, want in (("w_in", w_in, (n, 2 * n_in)), ("w_rec", w_rec, (n, n)),
                            ("w_out", w_out, (n_out, n))):
        if got.shape != want:
            raise ValueError(f"node {name!r} has weights of shape {got.shape}, the network "
                             f"needs {want}")
    mats = (w_in.T / in_gain, (w_rec.T / cfg.r_h) * signs[:, None],
            (w_out.T / out_gain) * signs[:, None])
    if binary:
        return np.concatenate([(m != 0).ravel() for m in mats])
    # float32 weights scaled in float64 and back: the float32 rounding restores them exactly
    return np.concatenate([m.astype(np.float32).ravel() for m in mats])


def _check_same(graph, expected) -> None:
    """Refuse ``graph`` unless its nodes and edges are those of ``expected`` (to rounding)."""
    if set(graph.nodes) != set(expected.nodes):
        raise ValueError(
            f"this NIR graph's nodes {sorted(graph.nodes)} differ from a satrlearn export's "
            f"{sorted(expected.nodes)}; was it edited after export?")
    if sorted(map(tuple, graph.edges)) != sorted(map(tuple, expected.edges)):
        raise ValueError("this NIR graph's edges differ from a satrlearn export's; was it "
                         "edited after export?")
    for name, want in expected.nodes.items():
        got = graph.nodes[name]
        if type(got) is not type(want):
            raise ValueError(f"node {name!r} is a {type(got).__name__}, a satrlearn export "
                             f"has a {type(want).__name__} there.")
        for field, value in vars(want).items():
            if field in ("metadata", "input_type", "output_type") or not isinstance(
                    value, np.ndarray):
                continue
            other = np.asarray(getattr(got, field), dtype=np.float64)
            if other.shape != value.shape or not np.allclose(other, value, rtol=1e-9,
                                                             atol=1e-12):
                raise ValueError(
                    f"node {name!r}: its {field} disagrees with the network settings in the "
                    "satrlearn record; was the graph edited after export?")


def write_nir(policy: RSNNPolicy, path, variant: str = "exact") -> str:
    """Export ``policy`` (:func:`to_nir`) and write it to ``path`` with ``nir.write``.

    The file is HDF5, NIR's format. Returns the path written.
    """
    nir = _nir()
    graph = to_nir(policy, variant)
    path = os.fspath(path)
    nir.write(path, graph)
    return path


def read_nir(path):
    """Read a ``.nir`` file into a ``nir.NIRGraph`` (``nir.read``), with a clear error."""
    nir = _nir()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no NIR file at {path!r}.")
    try:
        return nir.read(path)
    except (OSError, KeyError, ValueError, AssertionError) as exc:
        raise ValueError(f"{path!r} is not a readable NIR file: {type(exc).__name__}: "
                         f"{exc}") from None



# --- agreement with another simulator ----------------------------------------------------

def _simulator(policy, variant, consumer, integration, compensate_input, dtype):
    from .nir_consumers import GraphSimulator

    graph = to_nir(policy, variant)
    if integration is None:
        integration = "zoh" if variant == "exact" else "euler"
    if compensate_input is None:
        compensate_input = consumer == "snntorch"
    return graph, GraphSimulator(graph, consumer, integration=integration, dtype=dtype,
                                 compensate_input=compensate_input)


def compare_with_consumer(policy, recording, variant="euler", consumer="nirtorch",
                          integration=None, compensate_input=None, dtype=None) -> dict:
    """Run ``policy``'s NIR graph in another simulator on recorded observations.

    The other simulator (:mod:`satrlearn.nir_consumers`) gets the observations of a recorded
    episode (:func:`satrlearn.raster.record_episode`) open-loop, starting from the same
    membrane potentials, and its spikes and actions are compared with satrlearn's.

    Parameters
    ----------
    policy : RSNNPolicy
    recording : dict
        A result of :func:`satrlearn.raster.record_episode` for ``policy``.
    variant : {"exact", "euler", "snntorch"}, default="euler"
        The graph exported (:func:`to_nir`).
    consumer : {"nirtorch", "snntorch"}, default="nirtorch"
    integration : {"zoh", "euler"}, optional
        nirtorch's integration (default: ``"zoh"`` for the exact graph, else ``"euler"``).
    compensate_input : bool, optional
        Input compensation for snnTorch's CubaLIF (default: on for snnTorch); see
        :class:`~satrlearn.nir_consumers.GraphSimulator`.
    dtype : torch.dtype, optional
        nirtorch's precision (default float64).

    Returns
    -------
    dict
        ``steps``; ``spikes_satrlearn`` and ``spikes_consumer`` (totals); per-neuron spike
        counts ``counts_satrlearn``, ``counts_consumer`` and ``count_max_abs_diff``;
        ``first_divergence``, the first ``(env step, substep)`` at which the spike trains
        differ (None if never); ``steps_identical``, the env steps before it;
        ``action_max_abs_diff`` and ``action_mean_abs_diff`` over the episode, and
        ``action_abs_diff`` per step (max over action dimensions).
    """
    from .nir_consumers import consumer_action

    graph, sim = _simulator(policy, variant, consumer, integration, compensate_input, dtype)
    sim.reset(recording["v0"])
    ref_spikes = np.asarray(recording["spikes"], dtype=bool)
    ref_actions = np.asarray(recording["actions"], dtype=np.float64)
    spikes, actions = [], []
    for obs in recording["observations"]:
        out, s = sim.step(obs)
        spikes.append(s)
        actions.append(consumer_action(graph, out))
    spikes = np.asarray(spikes, dtype=bool)
    actions = np.asarray(actions, dtype=np.float64).reshape(ref_actions.shape)
    differ = np.argwhere(np.any(spikes != ref_spikes, axis=2))
    first = None if len(differ) == 0 else (int(differ[0][0]), int(differ[0][1]))
    counts_ref = ref_spikes.sum(axis=(0, 1))
    counts = spikes.sum(axis=(0, 1))
    diff = np.abs(actions - ref_actions).reshape(len(actions), -1).max(axis=1)
    return {
        "variant": variant, "consumer": consumer, "integration": sim_integration(sim),
        "compensate_input": sim.compensate_input, "steps": len(actions),
        "spikes_satrlearn": int(counts_ref.sum()), "spikes_consumer": int(counts.sum()),
        "counts_satrlearn": counts_ref, "counts_consumer": counts,
        "count_max_abs_diff": int(np.max(np.abs(counts - counts_ref), initial=0)),
        "first_divergence": first,
        "steps_identical": len(actions) if first is None else first[0],
        "action_max_abs_diff": float(diff.max(initial=0.0)),
        "action_mean_abs_diff": float(diff.mean()) if len(diff) else 0.0,
        "action_abs_diff": diff,
    }


def sim_integration(sim) -> str:
    """How a :class:`~satrlearn.nir_consumers.GraphSimulator` integrates (for reports)."""
    return "snnTorch's own" if sim.consumer == "snntorch" else sim.integration


def consumer_episode(policy, env, seed=0, variant="euler", consumer="nirtorch",
                     integration=None, compensate_input=None, dtype=None,
                     max_steps=None) -> dict:
    """One episode of ``env`` driven by the actions of another simulator (closed loop).

    The initial membrane potentials are those satrlearn starts the same ``seed`` with
    (:func:`satrlearn.raster.initial_membrane`), and ``env.reset(seed=seed)``, so the
    episode is comparable with :func:`satrlearn.raster.record_episode`'s.

    Returns
    -------
    dict
        ``return`` (the environment's true, undiscounted return), ``length``, ``variant``,
        ``consumer``.
    """
    import gymnasium as gym

    from .nir_consumers import consumer_action
    from .raster import initial_membrane
    from .rollout import make_env

    graph, sim = _simulator(policy, variant, consumer, integration, compensate_input, dtype)
    sim.reset(initial_membrane(policy, seed))
    own = isinstance(env, str)
    env = make_env(env) if own else env
    try:
        obs, _ = env.reset(seed=seed)
        total, steps, done = 0.0, 0, False
        space = env.action_space
        while not done and (max_steps is None or steps < max_steps):
            out, _ = sim.step(np.asarray(obs, dtype=np.float64).ravel())
            action = consumer_action(graph, out)
            if isinstance(space, gym.spaces.Box):
                action = np.asarray(action, dtype=space.dtype).reshape(space.shape)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            steps += 1
            done = terminated or truncated
    finally:
        if own:
            env.close()
    return {"return": total, "length": steps, "variant": variant, "consumer": consumer,
            "integration": sim_integration(sim), "compensate_input": sim.compensate_input}
