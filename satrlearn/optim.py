"""Ask/tell optimisers: the library's update rules for any evaluation loop, RL or not.

Each class searches over ``n_params`` parameters with a population of ``pop`` candidates per
generation::

    from satrlearn.optim import SATR
    opt = SATR(n_params=300, pop=32, random_state=0)
    for _ in range(150):
        X = opt.ask()              # (pop, n_params): bool for SATR and EC, float32 for ES
        opt.tell(fitness(X))       # higher is better, one value per row
    opt.mode                       # the deterministic solution (rho > 0.5, or the ES mean)

``tell`` ranks the fitness values (centred ranks, ties averaged), so only their order matters,
and returns the generation's diagnostics: the signal energy ``||g||^2``, its value if the
fitness carried no information (``noise_energy``), their ratio, the KL divergence of the step,
the mean probability (or mean ``|mu|``) and the entropy.

The estimators (:class:`~satrlearn.SATRSearch` and the others) drive the same classes: they
call :meth:`Optimizer.ask_seeds` and rebuild each candidate from its seed in the worker that
runs it (:meth:`Optimizer.sample`), so a generation's candidates never travel between
processes, and results do not depend on the number of workers.

The state is a plain dict of numpy arrays (:attr:`Optimizer.state`) plus the random
generator's state: :func:`save` and :func:`load` write and read it without pickle, for the
library's classes and for any class registered with :func:`register`.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np

from ._files import FileFormatError, read_archive, write_archive
from .shaping import centered_ranks
from .strategies import EC as _ECRule
from .strategies import ES as _ESRule
from .strategies import SATR as _SATRRule
from .strategies.base import Strategy, stored_state_spec

__all__ = ["EC", "ES", "SATR", "Optimizer", "load", "register", "save"]

FORMAT = "satrlearn-optimizer"
VERSION = 1
_REGISTRY: dict[str, type] = {}


def register(cls):
    """Make an :class:`Optimizer` subclass loadable by :func:`load` (usable as a decorator).

    Its name is the key written in saved files, and its constructor must accept the keyword
    arguments that :meth:`Optimizer.get_params` returns.
    """
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise TypeError(f"register() takes an Optimizer subclass, got {cls!r}.")
    _REGISTRY[cls.__name__] = cls
    return cls


def _check_number(name, value, *, low=None, low_open=False, high=None, integer=False):
    ok = isinstance(value, numbers.Integral if integer else numbers.Real) and not isinstance(
        value, bool)
    if ok:
        value = int(value) if integer else float(value)
        ok = np.isfinite(value)
    if not ok:
        kind = "an integer" if integer else "a finite number"
        raise ValueError(f"{name} must be {kind}, got {value!r}.")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}.")
    return value


def _check_antithetic(antithetic, pop):
    if not isinstance(antithetic, (bool, np.bool_)):
        raise ValueError(f"antithetic must be True or False, got {antithetic!r}.")
    if antithetic and pop % 2:
        raise ValueError(f"antithetic sampling needs an even pop (pairs), got {pop}.")


class Optimizer:
    """Ask/tell over one update rule (a :class:`~satrlearn.strategies.base.Strategy`).

    Subclasses implement :meth:`_make_rule` and list their hyperparameters in
    ``_hyper`` (names of constructor arguments, validated in :meth:`_check`).

    Parameters
    ----------
    n_params : int
        Number of parameters (connections) searched over.
    pop : int, default=64
        Candidates per generation.
    random_state : int, numpy Generator or None
        Seeds every candidate. A Generator is used as it is (shared with the caller).

    Attributes
    ----------
    state : dict of ndarray
        The search distribution and the optimiser's moments; see :meth:`state_spec`.
    generation : int
        Generations told so far.
    """

    _hyper: tuple = ()
    _min_pop = 2

    def __init__(self, n_params, pop=64, *, random_state=None):
        self.n_params = _check_number("n_params", n_params, low=1, integer=True)
        self.pop = _check_number("pop", pop, low=self._min_pop, integer=True)
        self._check()
        self.rule: Strategy = self._make_rule()
        if isinstance(random_state, np.random.Generator):
            self._rng = random_state
        elif random_state is None or (isinstance(random_state, numbers.Integral)
                                      and not isinstance(random_state, bool)
                                      and random_state >= 0):
            self._rng = np.random.default_rng(random_state)
        else:
            raise ValueError(f"random_state must be an int >= 0, a numpy Generator or None, "
                             f"got {random_state!r}.")
        self.state = self.rule.init(self.n_params, self._rng)
        self.generation = 0
        self._asked = None

    # --- what subclasses supply ---------------------------------------------------------
    def _make_rule(self) -> Strategy:
        raise NotImplementedError

    def _check(self) -> None:
        """Validate the hyperparameters (called by ``__init__``)."""

    def get_params(self) -> dict:
        """Constructor arguments (``n_params``, ``pop`` and the hyperparameters)."""
        return {"n_params": self.n_params, "pop": self.pop,
                **{name: getattr(self, name) for name in self._hyper}}

    # --- ask and tell -----------------------------------------------------------------
    @property
    def binary(self) -> bool:
        """True when candidates are binary masks, False for real vectors."""
        return self.rule.binary

    def ask_seeds(self):
        """The next generation as seeds and signs: candidate ``i`` is
        ``sample(seeds[i], signs[i])``, which any process can rebuild.

        Returns
        -------
        seeds : ndarray of int64, shape (pop,)
        signs : ndarray of int8, shape (pop,)
            +1, or -1 for the mirrored twin of an antithetic pair (ES).
        """
        seeds, signs = self.rule.candidates(self._rng, self.pop)
        self._asked = (seeds, signs)
        return seeds, signs

    @property
    def distribution(self) -> dict:
        """What :meth:`sample` needs of the state (send it to workers once per generation)."""
        return self.rule.distribution(self.state)

    def sample(self, seed, sign=1, distribution=None) -> np.ndarray:
        """Candidate ``(n_params,)`` of ``seed`` and ``sign`` under ``distribution``
        (default: the current one)."""
        dist = self.distribution if distribution is None else distribution
        return self.rule.sample(dist, seed, sign)

    def ask(self) -> np.ndarray:
        """The next generation's candidates, ``(pop, n_params)``: bool for binary rules,
        float32 for ES."""
        seeds, signs = self.ask_seeds()
        dist = self.distribution
        return np.stack([self.rule.sample(dist, s, g) for s, g in zip(seeds, signs)])

    def tell(self, fitness, samples=None) -> dict:
        """Update the distribution from the fitness of the last asked generation.

        Parameters
        ----------
        fitness : array-like of shape (pop,)
            One finite value per candidate, in the order asked; higher is better.
        samples : optional
            The candidates in the packed form of ``rule.pack_samples`` (1 bit per connection
            for binary rules); saves regenerating them. Results are identical either way.

        Returns
        -------
        dict
            Diagnostics: ``signal_energy``, ``noise_energy``, ``signal_to_noise``,
            ``signal_split`` (split-half estimate of the signal energy), ``kl``, ``mean_p``,
            ``entropy``.
        """
        if self._asked is None:
            raise RuntimeError("tell() needs a generation: call ask() (or ask_seeds()) first.")
        fitness = np.asarray(fitness, dtype=np.float64)
        if fitness.shape != (self.pop,):
            raise ValueError(f"tell() takes one fitness value per candidate: expected shape "
                             f"({self.pop},), got {fitness.shape}.")
        if not np.all(np.isfinite(fitness)):
            bad = int(np.flatnonzero(~np.isfinite(fitness))[0])
            raise ValueError(f"fitness of candidate {bad} is {fitness[bad]}; every value must "
                             "be finite (give failed candidates a low finite value).")
        seeds, signs = self._asked
        self.state, info = self.rule.update(self.state, seeds, signs, centered_ranks(fitness),
                                            samples)
        self._asked = None
        self.generation += 1
        return info

    @property
    def mode(self) -> np.ndarray:
        """The deterministic solution: connections with ``rho > 0.5``, or the ES mean."""
        return self.rule.mode(self.state)

    # --- state --------------------------------------------------------------------------
    def state_spec(self) -> dict:
        """``{name: (dtype, shape)}`` of :attr:`state`."""
        return self.rule.state_spec(self.n_params)

    def set_state(self, state: dict, generation=None, rng_state=None) -> None:
        """Replace :attr:`state` (validated: names, dtypes, shapes and values).

        Arrays of ``rule.optional_state_names`` may be left out (states saved before they
        existed): they start from their initial values.
        """
        spec = self.state_spec()
        missing = set(spec) - set(state)
        if missing and missing <= set(self.rule.optional_state_names):
            defaults = self.rule.optional_state(self.n_params)
            state = {**state, **{name: defaults[name] for name in missing}}
        if set(state) != set(spec):
            raise ValueError(f"the state must have the arrays {sorted(spec)}, got "
                             f"{sorted(state)}.")
        checked = {}
        for name, (dtype, shape) in spec.items():
            a = np.asarray(state[name])
            if a.shape != tuple(shape):
                raise ValueError(f"state[{name!r}] has shape {a.shape}, expected {shape}.")
            checked[name] = a.astype(dtype, copy=True)
        self.rule.check_state(checked)
        self.state = checked
        if generation is not None:
            self.generation = int(generation)
        if rng_state is not None:
            self._rng.bit_generator.state = rng_state
        self._asked = None


def _default(cls, name):
    """The constructor's default of hyperparameter ``name`` (the class attribute when a
    subclass's constructor does not take it)."""
    param = inspect.signature(cls.__init__).parameters.get(name)
    return getattr(cls, name, None) if param is None else param.default


def _accepted(cls, params: dict) -> dict:
    """``params`` without the names ``cls``'s constructor does not take (a user's subclass
    written before a hyperparameter of its base class existed)."""
    sig = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.values()):
        return dict(params)
    return {k: v for k, v in params.items() if k in sig}


def save(opt: Optimizer, path) -> str:
    """Write an optimiser (class, parameters, state, random generator) to ``path``, atomically.

    Its class must be registered (:func:`register`; the library's are).
    """
    name = type(opt).__name__
    if _REGISTRY.get(name) is not type(opt):
        raise ValueError(f"{name} is not registered: decorate it with satrlearn.optim.register "
                         "so that load() can rebuild it.")
    meta = {"format": FORMAT, "version": VERSION, "class": name, "params": opt.get_params(),
            "generation": opt.generation, "rng": opt._rng.bit_generator.state,
            "rng_kind": type(opt._rng.bit_generator).__name__,
            "state_names": sorted(opt.state)}
    return write_archive(path, meta, {f"state/{k}": v for k, v in opt.state.items()})


def load(path) -> Optimizer:
    """Read an optimiser written by :func:`save`. Never unpickles."""

    def expected(meta):
        if meta.get("format") != FORMAT:
            raise FileFormatError("is not a satrlearn optimizer file.")
        if meta.get("version") != VERSION:
            raise FileFormatError(f"is optimizer format {meta.get('version')!r}; this "
                                  f"satrlearn reads format {VERSION}.")
        cls = _REGISTRY.get(meta.get("class"))
        if cls is None:
            raise ValueError(f"unknown optimizer class {meta.get('class')!r}; register it "
                             "with satrlearn.optim.register before loading.")
        opt = cls.__new__(cls)
        opt.n_params = _check_number("n_params", meta["params"]["n_params"], low=1,
                                     integer=True, high=2**28)
        for name in cls._hyper:  # files written before a hyperparameter existed lack it
            setattr(opt, name, meta["params"].get(name, _default(cls, name)))
        spec = stored_state_spec(cls._make_rule(opt), opt.n_params, meta.get("state_names"))
        return {f"state/{k}": v for k, v in spec.items()}

    meta, arrays = read_archive(path, expected, what="optimizer file")
    try:
        cls = _REGISTRY[meta["class"]]
        opt = cls(**_accepted(cls, meta["params"]))
        bitgen = getattr(np.random, meta["rng_kind"])()
        bitgen.state = meta["rng"]
        opt._rng = np.random.Generator(bitgen)
        opt.set_state({k[len("state/"):]: v for k, v in arrays.items()},
                      generation=meta["generation"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FileFormatError(f"{path!r} is an inconsistent satrlearn optimizer file: "
                              f"{exc}") from None
    return opt


@register
class SATR(Optimizer):
    """Signal-Adaptive Trust Regions on Bernoulli probabilities ``rho`` (binary candidates).

    ``rho <- clip(rho + eta * sqrt(rho (1 - rho)) * g, rho_eps, 1 - rho_eps)``.

    Parameters
    ----------
    n_params, pop, random_state
        See :class:`Optimizer`.
    eta : float, default=15.0
        Step size; the step's local KL is ``eta^2 / 2 * ||g||^2``.
    rho_eps : float, default=1e-3
        ``rho`` is kept in ``[rho_eps, 1 - rho_eps]``.
    antithetic : bool, default=False
        Draw candidates in pairs from the same uniforms, ``u < rho`` and ``1 - u < rho``;
        ``pop`` must then be even.

    Examples
    --------
    >>> import numpy as np
    >>> target = np.random.default_rng(1).random(64) < 0.5
    >>> opt = SATR(n_params=64, pop=16, eta=5.0, random_state=0)
    >>> for _ in range(60):
    ...     X = opt.ask()
    ...     _ = opt.tell((X == target).sum(axis=1))
    >>> int((opt.mode == target).sum())
    64
    """

    _hyper = ("eta", "rho_eps", "antithetic")
    antithetic = False

    def __init__(self, n_params, pop=64, *, eta=15.0, rho_eps=1e-3, antithetic=False,
                 random_state=None):
        self.eta, self.rho_eps, self.antithetic = eta, rho_eps, antithetic
        super().__init__(n_params, pop, random_state=random_state)

    def _check(self):
        self.eta = _check_number("eta", self.eta, low=0, low_open=True)
        self.rho_eps = _check_number("rho_eps", self.rho_eps, low=0, high=0.5)
        _check_antithetic(self.antithetic, self.pop)

    def _make_rule(self):
        return _SATRRule(eta=self.eta, rho_eps=self.rho_eps, antithetic=self.antithetic)


@register
class EC(Optimizer):
    """Evolving Connectivity: Adam ascent on Bernoulli probabilities (binary candidates).

    With ``trust_region`` set, each Adam step is rescaled to that local KL (EC+TR).

    Parameters
    ----------
    n_params, pop, random_state
        See :class:`Optimizer`.
    learning_rate : float, default=0.15
    trust_region : float or None, default=None
    rho_eps : float, default=1e-3
    antithetic : bool, default=False
        See :class:`SATR`.
    """

    _hyper = ("learning_rate", "trust_region", "rho_eps", "antithetic")
    antithetic = False

    def __init__(self, n_params, pop=64, *, learning_rate=0.15, trust_region=None,
                 rho_eps=1e-3, antithetic=False, random_state=None):
        self.learning_rate, self.trust_region, self.rho_eps = learning_rate, trust_region, rho_eps
        self.antithetic = antithetic
        super().__init__(n_params, pop, random_state=random_state)

    def _check(self):
        self.learning_rate = _check_number("learning_rate", self.learning_rate, low=0,
                                           low_open=True)
        if self.trust_region is not None:
            self.trust_region = _check_number("trust_region", self.trust_region, low=0,
                                              low_open=True)
        self.rho_eps = _check_number("rho_eps", self.rho_eps, low=0, high=0.5)
        _check_antithetic(self.antithetic, self.pop)

    def _make_rule(self):
        return _ECRule(learning_rate=self.learning_rate, trust_region=self.trust_region,
                       rho_eps=self.rho_eps, antithetic=self.antithetic)


@register
class ES(Optimizer):
    """Gaussian evolution strategies with antithetic pairs and AdamW (float32 candidates).

    Parameters
    ----------
    n_params, pop, random_state
        See :class:`Optimizer`; ``pop`` must be even.
    sigma : float, default=0.3
    learning_rate : float, default=0.15
    weight_decay : float, default=0.1

    Examples
    --------
    >>> import numpy as np
    >>> opt = ES(n_params=10, pop=20, sigma=0.1, learning_rate=0.05, weight_decay=0.0,
    ...          random_state=0)
    >>> for _ in range(200):
    ...     X = opt.ask()
    ...     _ = opt.tell(-((X - 1.0) ** 2).sum(axis=1))
    >>> bool(np.abs(opt.mode - 1.0).max() < 0.1)
    True
    """

    _hyper = ("sigma", "learning_rate", "weight_decay")

    def __init__(self, n_params, pop=64, *, sigma=0.3, learning_rate=0.15, weight_decay=0.1,
                 random_state=None):
        self.sigma, self.learning_rate, self.weight_decay = sigma, learning_rate, weight_decay
        super().__init__(n_params, pop, random_state=random_state)

    def _check(self):
        if self.pop % 2:
            raise ValueError(f"ES needs an even pop (antithetic pairs), got {self.pop}.")
        self.sigma = _check_number("sigma", self.sigma, low=0, low_open=True, high=1e6)
        self.learning_rate = _check_number("learning_rate", self.learning_rate, low=0,
                                           low_open=True, high=1e6)
        self.weight_decay = _check_number("weight_decay", self.weight_decay, low=0)
        if self.learning_rate * self.weight_decay > 1:
            raise ValueError("learning_rate * weight_decay must be <= 1.")

    def _make_rule(self):
        return _ESRule(sigma=self.sigma, learning_rate=self.learning_rate,
                       weight_decay=self.weight_decay)
