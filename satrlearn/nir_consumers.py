"""Run a NIR graph in simulators that satrlearn did not write: nirtorch and snnTorch.

This module imports nothing from satrlearn: it sees only the ``nir.NIRGraph`` (its nodes,
edges and metadata) and runs it with torch, so that agreement with satrlearn measures the
exported description, not shared code. Two consumers:

``"nirtorch"``
    nirtorch's graph interpreter (``nirtorch.nir_to_torch``) wires the graph, including its
    recurrent loop; the neuron nodes (``LIF``, ``LI``) are torch modules written here from
    NIR's documented equations (nirtorch ships none). ``integration="zoh"`` integrates each
    node exactly over a step and passes spikes as pulses of area 1 (height ``1 / dt``);
    ``integration="euler"`` uses forward Euler, ``x += dt / tau * (...)``, with 0/1 spikes, as
    the released importers do. The ``Affine`` mapping is written here too: nirtorch 2.6's
    default one does not copy the bias (it sets an attribute of the weight tensor instead, so
    the torch layer keeps its random initial bias).
``"snntorch"``
    snnTorch's own importer, ``snntorch.import_nir.import_from_nir``, unchanged.

Needs the ``nir`` extra: ``pip install "satrlearn[nir]"`` (torch, nir, nirtorch, snntorch).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CONSUMERS", "GraphSimulator", "consumer_action", "consumer_versions"]

#: The simulators :class:`GraphSimulator` can run a graph in.
CONSUMERS = ("nirtorch", "snntorch")
_HINT = 'running NIR graphs needs torch, nir, nirtorch and snntorch: pip install "satrlearn[nir]"'


def _imports():
    try:
        import nir
        import nirtorch
        import torch
    except ImportError:
        raise ImportError(_HINT) from None
    return nir, nirtorch, torch


def consumer_versions() -> dict:
    """Versions of the packages the consumers use."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("nir", "nirtorch", "snntorch", "torch"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _neuron_modules(torch, dt, integration, dtype):
    """Torch modules for NIR's LIF and LI nodes (stateful in nirtorch's convention)."""

    def tensor(a):
        return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype)

    class LI(torch.nn.Module):
        """``tau dv/dt = (v_leak - v) + R I``."""

        def __init__(self, node):
            super().__init__()
            self.tau, self.r, self.v_leak = (tensor(node.tau), tensor(node.r),
                                             tensor(node.v_leak))
            self.decay = torch.exp(-dt / self.tau)

        def forward(self, x, state=None):
            v = torch.zeros_like(self.tau) if state is None else state
            if integration == "zoh":
                v = self.decay * v + (1.0 - self.decay) * (self.v_leak + self.r * x)
            else:
                v = v + dt / self.tau * (self.v_leak - v + self.r * x)
            return v, v

    class LIF(torch.nn.Module):
        """``tau dv/dt = (v_leak - v) + R I``, spike when ``v > v_threshold``, then reset."""

        def __init__(self, node):
            super().__init__()
            self.tau, self.r, self.v_leak = (tensor(node.tau), tensor(node.r),
                                             tensor(node.v_leak))
            self.v_th, self.v_reset = tensor(node.v_threshold), tensor(node.v_reset)
            self.decay = torch.exp(-dt / self.tau)
            self.initial = None  # membrane potentials at the start of an episode
            self.spike_value = 1.0 / dt if integration == "zoh" else 1.0

        def forward(self, x, state=None):
            if state is None:
                v = self.initial if self.initial is not None else torch.zeros_like(self.tau)
            else:
                v = state
            if integration == "zoh":
                v = self.decay * v + (1.0 - self.decay) * (self.v_leak + self.r * x)
            else:
                v = v + dt / self.tau * (self.v_leak - v + self.r * x)
            spikes = v > self.v_th
            v = torch.where(spikes, self.v_reset, v)
            return spikes.to(dtype) * self.spike_value, v

    return LIF, LI


class GraphSimulator:
    """A NIR graph run by another simulator, driven one environment step at a time.

    Parameters
    ----------
    graph : nir.NIRGraph
    consumer : {"nirtorch", "snntorch"}
    integration : {"zoh", "euler"}, default="euler"
        How the nirtorch consumer integrates the neuron nodes (ignored by snnTorch, which
        uses its own discretisation).
    dt : float, optional
        The simulation step for the nirtorch consumer, in the graph's time unit (default:
        the graph metadata's ``dt``).
    substeps : int, optional
        Steps per environment step (default: the metadata's ``substeps_per_env_step``).
    dtype : torch.dtype, optional
        Precision of the nirtorch consumer (default float64; snnTorch runs in float32).
    hidden : str, default="lif"
        Name of the spiking node whose spikes are recorded.
    readout : str, optional
        For snnTorch: the node whose membrane potential is the readout (default "readout"
        when the graph has one).
    compensate_input : bool, default=False
        For snnTorch (a ``CubaLIF`` hidden node, whose synapse also filters the input): drive
        the graph so that the filtered input current equals the unfiltered one. At the first
        step of each environment step the observation fed is
        ``(obs - alpha * previous_obs) / (1 - alpha)`` (``alpha`` the synaptic decay per
        step), and an episode starts with the synaptic current at its steady value. This is
        exact because the input path is affine; it changes how the graph is driven, not the
        graph.

    Notes
    -----
    Each :meth:`step` holds one observation for ``substeps`` steps and returns the graph's
    output after the last one (or the readout node's membrane potential), with the spikes of
    the hidden node at every step. :meth:`reset` starts an episode with given membrane
    potentials of the hidden node.
    """

    def __init__(self, graph, consumer="nirtorch", integration="euler", dt=None,
                 substeps=None, dtype=None, hidden="lif", readout=None,
                 compensate_input=False):
        nir, nirtorch, torch = _imports()
        if consumer not in CONSUMERS:
            raise ValueError(f"unknown consumer {consumer!r}; choose one of {CONSUMERS}.")
        if integration not in ("zoh", "euler"):
            raise ValueError(f"integration must be 'zoh' or 'euler', got {integration!r}.")
        meta = graph.metadata if isinstance(graph.metadata, dict) else {}
        self.torch = torch
        self.consumer = consumer
        self.integration = integration
        self.graph = graph
        self.dt = float(meta["dt"]) if dt is None else float(dt)
        self.substeps = int(meta["substeps_per_env_step"]) if substeps is None else int(substeps)
        self.hidden = hidden
        self.n_hidden = int(np.asarray(graph.nodes[hidden].v_threshold).size)
        self._captured = []
        if consumer == "nirtorch":
            self.dtype = torch.float64 if dtype is None else dtype
            lif, li = _neuron_modules(torch, self.dt, integration, self.dtype)

            def affine(node):
                layer = torch.nn.Linear(node.weight.shape[-1], node.weight.shape[-2])
                layer.weight.data = torch.as_tensor(np.asarray(node.weight, np.float64))
                layer.bias.data = torch.as_tensor(np.asarray(node.bias, np.float64))
                return layer

            self.module = nirtorch.nir_to_torch(
                graph, {nir.LIF: lif, nir.LI: li, nir.Affine: affine}, dtype=self.dtype)
            self.readout = None
        else:
            from snntorch.import_nir import import_from_nir

            self.dtype = torch.float32
            self.module = _quietly(import_from_nir, graph)
            if readout is None and "readout" in graph.nodes:
                readout = "readout"
            self.readout = readout
            self._snn_scale = self._snntorch_membrane_scale(graph.nodes[hidden])
        self.compensate_input = bool(compensate_input) and consumer == "snntorch"
        if self.compensate_input:
            node = graph.nodes[hidden]
            self._alpha = float(np.unique(np.round(1.0 - 1e-4 / np.asarray(node.tau_syn),
                                                   15))[0])
        self._previous = None
        self._hidden_module = self._find(hidden)
        self._hidden_module.register_forward_hook(self._capture)
        self.state = None

    def _find(self, name):
        for key, mod in self.module.named_modules():
            if key == name or key.endswith("." + name):
                return mod
        raise ValueError(f"the simulator built no module for node {name!r}.")

    def _snntorch_membrane_scale(self, node):
        # snnTorch 1.0.0 divides the threshold by w_in * dt / tau_syn (its dt is 1e-4 s) and
        # integrates the unscaled input: its membrane is v / that factor
        w_scale = np.asarray(node.w_in) * 1e-4 / np.asarray(node.tau_syn)
        return float(np.unique(np.round(w_scale, 12))[0])

    def _capture(self, module, args, output):
        out = output[0] if isinstance(output, tuple) else output
        self._captured.append(np.asarray(out.detach().cpu().numpy()).reshape(-1) != 0)

    def reset(self, v0=None) -> None:
        """Start an episode: hidden membrane potentials ``v0`` (default 0), other states 0."""
        torch = self.torch
        v0 = np.zeros(self.n_hidden) if v0 is None else np.asarray(v0, dtype=np.float64)
        self.state = None
        self._previous = None
        if self.consumer == "nirtorch":
            self._hidden_module.initial = torch.as_tensor(v0, dtype=self.dtype)
            return
        for mod in self.module.modules():  # snnTorch neurons keep their state themselves
            if hasattr(mod, "reset_mem"):
                mod.reset_mem()
        n = self.n_hidden
        self._hidden_module.mem = torch.as_tensor(v0 / self._snn_scale,
                                                  dtype=self.dtype).reshape(1, n)
        self._hidden_module.syn = torch.zeros((1, n), dtype=self.dtype)

    def step(self, observation):
        """Hold ``observation`` for ``substeps`` steps.

        Returns
        -------
        output : ndarray
            The graph's output after the last step (for snnTorch with a readout node: that
            node's membrane potential).
        spikes : ndarray of bool, shape (substeps, n_hidden)
        """
        torch = self.torch
        x = torch.as_tensor(np.asarray(observation, dtype=np.float64).reshape(1, -1),
                            dtype=self.dtype)
        self._captured = []
        out = None
        first = x
        with torch.no_grad():
            if self.compensate_input:
                a = self._alpha
                if self._previous is None:  # start at the steady synaptic current
                    current = self.module.w_in(self.module.normalize(x)) / (1.0 - a)
                    self._hidden_module.syn = current.reshape(1, -1).to(self.dtype)
                else:
                    first = (x - a * self._previous) / (1.0 - a)
                self._previous = x
            for t in range(self.substeps):
                inp = first if t == 0 else x
                if self.consumer == "nirtorch":
                    out, self.state = self.module(inp, self.state)
                else:
                    result = self.module(inp, self.state)
                    out, self.state = result if isinstance(result, tuple) else (result, None)
        if self.readout is not None:
            out = self._find(self.readout).mem
        spikes = np.asarray(self._captured[-self.substeps:]).reshape(self.substeps, -1)
        return np.asarray(out.detach().cpu().numpy(), dtype=np.float64).reshape(-1), spikes


def _quietly(fn, *args):
    """Call ``fn`` with its prints (snnTorch's importer prints warnings) sent nowhere."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def consumer_action(graph, output):
    """The environment action for a graph output, by the rule in the graph's metadata.

    Box: the ``exact`` and ``euler`` graphs end in the action scaling, whose output is
    clipped to ``[action_low, action_high]``; the ``snntorch`` graph's readout ``y`` becomes
    ``action_mid + action_half * clip(y, -1, 1)``. Discrete: ``argmax + action_start``.
    """
    meta = graph.metadata
    out = np.asarray(output, dtype=np.float64).reshape(-1)
    kind = meta.get("action_kind")
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    if kind == "discrete":
        return int(np.argmax(out)) + int(meta["action_start"])
    if "readout" in graph.nodes:
        return np.asarray(meta["action_mid"]) + np.asarray(meta["action_half"]) * np.clip(
            out, -1.0, 1.0)
    return np.clip(out, np.asarray(meta["action_low"]), np.asarray(meta["action_high"]))
