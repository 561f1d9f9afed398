"""The estimators: one fit loop (sample -> evaluate -> rank -> update -> record), three strategies."""

from __future__ import annotations

import math
import numbers
import time
import warnings

import numpy as np
from joblib import Parallel, effective_n_jobs
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .network import NetworkConfig
from .normalization import Moments, ObservationNormalizer, merge_moments
from .parallel import evaluate_population
from .policy import ActionMap, RSNNPolicy
from .rollout import EnvSource, cached_envs, evaluate_policy, moments_of, run_episodes
from .shaping import centered_ranks
from .strategies import EC, ES, SATR

__all__ = ["BaseSearch", "SATRSearch", "ECSearch", "ESSearch", "HISTORY_KEYS"]

#: Columns of ``history_``, one value per generation.
HISTORY_KEYS = (
    "generation", "return_mean", "return_max", "return_min", "return_det", "signal_energy",
    "kl", "mean_p", "entropy", "env_steps", "episodes", "wall_time",
)


def _check_param(name, value, *, low=None, high=None, integer=False, low_open=False,
                 none_ok=False):
    """Validate one hyperparameter; raise a ValueError/TypeError naming it and the fix."""
    if value is None and none_ok:
        return
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, numbers.Integral if integer else numbers.Real) \
        and not isinstance(value, bool)
    if not ok_type:
        raise TypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__}).")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if low is not None and (value <= low if low_open else value < low):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}, got {value!r}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}.")


class BaseSearch(BaseEstimator):
    """The fit loop shared by all searches; subclasses only build their strategy.

    Subclasses define ``__init__`` with their hyperparameters (stored verbatim) and
    ``_make_strategy``. See :class:`SATRSearch` for the parameters common to all.
    """

    _min_pop = 2

    # --- hooks ---------------------------------------------------------------------------
    def _make_strategy(self):
        raise NotImplementedError

    def _validate_strategy_params(self):
        raise NotImplementedError

    # --- validation ----------------------------------------------------------------------
    def _validate_params(self):
        _check_param("pop", self.pop, low=self._min_pop, integer=True)
        _check_param("n_generations", self.n_generations, low=0, integer=True)
        _check_param("n_episodes", self.n_episodes, low=1, integer=True)
        _check_param("n_hidden", self.n_hidden, low=1, integer=True)
        _check_param("excitatory_ratio", self.excitatory_ratio, low=0, high=1)
        _check_param("max_episode_steps", self.max_episode_steps, low=1, integer=True,
                     none_ok=True)
        _check_param("obs_clip", self.obs_clip, low=0, low_open=True)
        _check_param("verbose", self.verbose, low=0, integer=True)
        if self.n_jobs is not None:
            _check_param("n_jobs", self.n_jobs, integer=True)
            if self.n_jobs == 0:
                raise ValueError("n_jobs == 0 has no meaning; use 1, a positive count or -1 "
                                 "for all cores.")
        if self.network_params is not None and not isinstance(self.network_params, dict):
            raise TypeError("network_params must be a dict of NetworkConfig fields or None.")
        for key in ("n_in", "n_out", "n_hidden", "excitatory_ratio"):
            if self.network_params and key in self.network_params:
                raise ValueError(f"network_params may not set {key!r}; "
                                 + ("it comes from the environment." if key in ("n_in", "n_out")
                                    else f"use the {key} parameter."))
        callbacks = self.callbacks if self.callbacks is not None else []
        if callable(callbacks):
            callbacks = [callbacks]
        for cb in callbacks:
            if not callable(cb):
                raise TypeError(f"callbacks must be callables, got {cb!r}.")
        self._validate_strategy_params()
        return list(callbacks)

    # --- the loop ------------------------------------------------------------------------
    def fit(self, env, y=None):
        """Search for a policy on ``env``.

        Parameters
        ----------
        env : str, gymnasium.envs.registration.EnvSpec, callable or gymnasium.Env
            A registered id (``"Hopper-v5"``), a spec, a zero-argument factory returning an
            env, or an instance (rebuilt from its spec in worker processes).
        y : ignored
            Present for scikit-learn API compatibility.

        Returns
        -------
        self
            Fitted; on Ctrl-C, fitted with the last completed generation (with a warning).
        """
        callbacks = self._validate_params()
        source = EnvSource(env, max_episode_steps=self.max_episode_steps)
        n_jobs = effective_n_jobs(self.n_jobs)
        if n_jobs > 1 and not source.rebuildable():
            raise ValueError(
                f"the environment {source.describe()} cannot be rebuilt in worker processes "
                "(no spec, and it cannot be pickled). Pass its id or a picklable factory, or "
                "use n_jobs=1.")
        probe = source.make()
        try:
            obs_space = probe.observation_space
            import gymnasium as gym
            if not isinstance(obs_space, gym.spaces.Box):
                raise TypeError(
                    f"unsupported observation space {obs_space!r}: satrlearn needs a Box. Wrap "
                    "the environment, e.g. with gymnasium.wrappers.FlattenObservation.")
            action_map = ActionMap(probe.action_space)
            n_in = int(math.prod(obs_space.shape))
        finally:
            if source.kind != "instance":
                probe.close()
        config = NetworkConfig(n_in=n_in, n_out=action_map.n_out, n_hidden=self.n_hidden,
                               excitatory_ratio=self.excitatory_ratio,
                               **(self.network_params or {}))
        strategy = self._make_strategy()
        if not (self.warm_start and getattr(self, "_state", None) is not None
                and self.network_config_ == config):
            if self.warm_start and getattr(self, "_state", None) is not None:
                warnings.warn("warm_start ignored: the network sizes changed; starting afresh.")
            self._rng = (self.random_state if isinstance(self.random_state, np.random.Generator)
                         else np.random.default_rng(self.random_state))
            self._state = strategy.init(config.n_params, self._rng)
            self._normalizer = ObservationNormalizer(n_in, clip=self.obs_clip)
            self.history_ = {key: [] for key in HISTORY_KEYS}
            self.n_generations_ = 0
            self.env_steps_ = 0
            self.best_score_ = -np.inf
            self.best_policy_ = None
            self.wall_time_ = 0.0
        self.network_config_ = config
        self.action_space_ = action_map.space
        self._action_map = action_map
        self.interrupted_ = False
        self._source = source

        progress = self._progress()
        try:
            with Parallel(n_jobs=self.n_jobs) as parallel:
                for _ in range(self.n_generations):
                    record = self._generation(parallel, n_jobs, strategy, config, action_map,
                                              source)
                    if progress is not None:
                        progress.update(1)
                        progress.set_postfix(mean=f"{record['return_mean']:.1f}",
                                             best=f"{record['return_max']:.1f}",
                                             det=f"{record['return_det']:.1f}")
                    elif self.verbose >= 2:
                        print(self._format(record), flush=True)
                    if any(cb(self, record) is False for cb in callbacks):
                        break
        except KeyboardInterrupt:
            self.interrupted_ = True
            warnings.warn(
                f"fit interrupted; the estimator keeps generation {self.n_generations_}.",
                RuntimeWarning, stacklevel=2)
        finally:
            if progress is not None:
                progress.close()
            self._finalize(config, action_map)
        return self

    def _progress(self):
        if self.verbose == 1:
            from tqdm.auto import tqdm
            return tqdm(total=self.n_generations, desc=type(self).__name__, unit="gen")
        return None

    @staticmethod
    def _format(record):
        return (f"gen {record['generation']:4d}  mean {record['return_mean']:9.2f}  max "
                f"{record['return_max']:9.2f}  det {record['return_det']:9.2f}  "
                f"|g|^2 {record['signal_energy']:.3g}  KL {record['kl']:.3g}  "
                f"steps {record['env_steps']}  {record['wall_time']:.1f}s")

    def _generation(self, parallel, n_jobs, strategy, config, action_map, source):
        t0 = time.perf_counter()
        rng = self._rng
        seeds, signs = strategy.candidates(rng, self.pop)
        episode_seeds = rng.integers(0, 2**31 - 1, size=self.n_episodes)
        det_seed = rng.integers(0, 2**63)
        frozen = self._normalizer
        result = evaluate_population(parallel, n_jobs, strategy, self._state, seeds, signs,
                                     source, config, action_map, frozen, episode_seeds)
        returns = result["returns"]
        weights = centered_ranks(returns)
        state, info = strategy.update(self._state, seeds, signs, weights)
        moments = Moments(config.n_in)
        for i in range(len(seeds)):  # in candidate order: identical for any n_jobs
            moments = merge_moments(moments, moments_of(result, i))
        normalizer = frozen.copy()
        normalizer.merge(moments)
        det_params = strategy.mode(state)
        det = run_episodes(config, det_params[None], action_map, normalizer,
                           cached_envs(source, 1)[:1], [int(det_seed) % (2**31 - 1)],
                           [np.random.default_rng(det_seed)], labels=["deterministic"])
        # commit the generation only now: an error above leaves the last one intact
        self._state, self._normalizer = state, normalizer
        self.n_generations_ += 1
        steps = int(result["lengths"].sum())
        self.env_steps_ += steps
        self.wall_time_ += time.perf_counter() - t0
        record = {
            "generation": self.n_generations_,
            "return_mean": float(returns.mean()),
            "return_max": float(returns.max()),
            "return_min": float(returns.min()),
            "return_det": float(det["returns"][0]),
            **info,
            "env_steps": self.env_steps_,
            "episodes": int(result["episodes"].sum()),
            "wall_time": self.wall_time_,
        }
        for key in HISTORY_KEYS:
            self.history_[key].append(record[key])
        if record["return_det"] > self.best_score_:
            self.best_score_ = record["return_det"]
            self.best_policy_ = RSNNPolicy(config, det_params, normalizer.copy(), action_map)
        return record

    def _finalize(self, config, action_map):
        self.policy_ = RSNNPolicy(config, self._make_strategy().mode(self._state),
                                  self._normalizer.copy(), action_map)
        if self.best_policy_ is None:
            self.best_policy_ = self.policy_

    # --- using the result --------------------------------------------------------------
    def _check_fitted(self):
        check_is_fitted(self, "policy_")

    def predict(self, X):
        """Actions for consecutive observations ``X (T, obs_dim)`` from a fresh network state.

        Returns ``(T, *action_shape)`` for Box actions and ``(T,)`` for Discrete ones.
        """
        self._check_fitted()
        return self.policy_.run_sequence(X, seed=0)

    def score(self, env, n_episodes=10, seed=0):
        """Mean return of ``policy_`` over ``n_episodes`` episodes of ``env``; higher is better."""
        self._check_fitted()
        return evaluate_policy(self.policy_, env, n_episodes=n_episodes, seed=seed)[0]

    @property
    def distribution_(self) -> dict:
        """The current search distribution (``rho`` or ``mu`` and optimiser moments)."""
        if getattr(self, "_state", None) is None:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet.")
        return {k: np.copy(v) for k, v in self._state.items()}

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_source", None)  # may hold a live env
        return state


_COMMON_DOC = """
    pop : int, default=128
        Population size: candidates sampled and evaluated per generation.
    n_generations : int, default=100
        Generations to run in one call of ``fit``.
    n_episodes : int, default=1
        Episodes per candidate; its fitness is the mean undiscounted return.
    n_hidden : int, default=256
        Spiking neurons.
    excitatory_ratio : float, default=0.5
        Share of excitatory neurons.
    network_params : dict, optional
        Other :class:`~satrlearn.network.NetworkConfig` fields (time constants, gains...).
    max_episode_steps : int, optional
        Cut episodes at this many steps (default: the environment's own time limit, or 1000
        with a warning when it has none).
    obs_clip : float, default=10
        Normalised observations are clipped to ``[-obs_clip, obs_clip]``.
    n_jobs : int, optional
        Worker processes (joblib semantics: None is 1 unless inside
        ``joblib.parallel_config``; -1 is every core).
    random_state : int, numpy Generator or None
        Determines every candidate, episode seed and initial membrane state, whatever n_jobs.
    verbose : int, default=0
        0 silent, 1 a progress bar, 2 one line per generation.
    warm_start : bool, default=False
        Continue from the current distribution on the next ``fit``.
    callbacks : list of callables, optional
        Each is called as ``cb(estimator, record)`` after every generation (``record`` is that
        generation's row of ``history_``); returning ``False`` stops the fit.

    Attributes
    ----------
    policy_ : RSNNPolicy
        The deterministic network of the final distribution, with its normaliser.
    best_policy_ : RSNNPolicy
        The deterministic network with the highest logged return.
    best_score_ : float
        Its return.
    history_ : dict of lists
        Per generation: ``generation, return_mean, return_max, return_min, return_det``
        (deterministic network), ``signal_energy`` (``||g||^2``), ``kl`` (exact KL between
        successive distributions), ``mean_p`` (mean rho; mean ``|mu|`` for ES), ``entropy``,
        ``env_steps`` (cumulative), ``episodes``, ``wall_time`` (cumulative seconds).
    n_generations_ : int
        Generations completed so far (across warm starts).
    env_steps_ : int
        Environment steps used by the populations so far.
    network_config_ : NetworkConfig
    interrupted_ : bool
        True when the last fit was stopped by Ctrl-C.
"""


class SATRSearch(BaseSearch):
    __doc__ = """Signal-Adaptive Trust Region search over binary connectivity.

    Samples binary networks from Bernoulli(``rho``) and moves
    ``rho <- clip(rho + eta * sqrt(rho (1 - rho)) * g, rho_eps, 1 - rho_eps)`` where ``g`` is
    the rank-weighted population signal. The move's KL is about ``eta^2 / 2 * ||g||^2``.

    Parameters
    ----------
    eta : float, default=30.0
        Step size of the SATR update. Chosen from sweeps on CartPole-v1 (pop 32) and
        Hopper-v5 (pop 128); see docs/concepts.md.
    rho_eps : float, default=1e-3
        ``rho`` is kept in ``[rho_eps, 1 - rho_eps]``.
    """ + _COMMON_DOC + """
    Examples
    --------
    >>> from satrlearn import SATRSearch
    >>> est = SATRSearch(pop=32, n_generations=5, random_state=0).fit("CartPole-v1")
    >>> est.score("CartPole-v1", n_episodes=3)  # doctest: +SKIP
    """

    def __init__(self, pop=128, n_generations=100, *, eta=30.0, rho_eps=1e-3, n_episodes=1,
                 n_hidden=256, excitatory_ratio=0.5, network_params=None,
                 max_episode_steps=None, obs_clip=10.0, n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, callbacks=None):
        self.pop = pop
        self.n_generations = n_generations
        self.eta = eta
        self.rho_eps = rho_eps
        self.n_episodes = n_episodes
        self.n_hidden = n_hidden
        self.excitatory_ratio = excitatory_ratio
        self.network_params = network_params
        self.max_episode_steps = max_episode_steps
        self.obs_clip = obs_clip
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    def _validate_strategy_params(self):
        _check_param("eta", self.eta, low=0, low_open=True)
        _check_param("rho_eps", self.rho_eps, low=0, high=0.5, low_open=True)

    def _make_strategy(self):
        return SATR(eta=self.eta, rho_eps=self.rho_eps)


class ECSearch(BaseSearch):
    __doc__ = """Evolving Connectivity: Adam ascent on Bernoulli connection probabilities.

    With ``trust_region`` set, each Adam step is rescaled to that local KL (the EC+TR
    ablation of the SATR paper).

    Parameters
    ----------
    learning_rate : float, default=0.15
        Adam step size (the EC paper's value).
    trust_region : float, optional
        KL budget per generation for EC+TR; None for plain EC.
    rho_eps : float, default=1e-3
    """ + _COMMON_DOC

    def __init__(self, pop=128, n_generations=100, *, learning_rate=0.15, trust_region=None,
                 rho_eps=1e-3, n_episodes=1, n_hidden=256, excitatory_ratio=0.5,
                 network_params=None, max_episode_steps=None, obs_clip=10.0, n_jobs=None,
                 random_state=None, verbose=0, warm_start=False, callbacks=None):
        self.pop = pop
        self.n_generations = n_generations
        self.learning_rate = learning_rate
        self.trust_region = trust_region
        self.rho_eps = rho_eps
        self.n_episodes = n_episodes
        self.n_hidden = n_hidden
        self.excitatory_ratio = excitatory_ratio
        self.network_params = network_params
        self.max_episode_steps = max_episode_steps
        self.obs_clip = obs_clip
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    def _validate_strategy_params(self):
        _check_param("learning_rate", self.learning_rate, low=0, low_open=True)
        _check_param("trust_region", self.trust_region, low=0, low_open=True, none_ok=True)
        _check_param("rho_eps", self.rho_eps, low=0, high=0.5, low_open=True)

    def _make_strategy(self):
        return EC(learning_rate=self.learning_rate, trust_region=self.trust_region,
                  rho_eps=self.rho_eps)


class ESSearch(BaseSearch):
    __doc__ = """Gaussian evolution strategies on the real-valued spiking network.

    Antithetic pairs ``mu +/- sigma * eps``; AdamW on the rank-based gradient estimate.
    ``pop`` must be even.

    Parameters
    ----------
    sigma : float, default=0.3
    learning_rate : float, default=0.15
    weight_decay : float, default=0.1
    """ + _COMMON_DOC

    def __init__(self, pop=128, n_generations=100, *, sigma=0.3, learning_rate=0.15,
                 weight_decay=0.1, n_episodes=1, n_hidden=256, excitatory_ratio=0.5,
                 network_params=None, max_episode_steps=None, obs_clip=10.0, n_jobs=None,
                 random_state=None, verbose=0, warm_start=False, callbacks=None):
        self.pop = pop
        self.n_generations = n_generations
        self.sigma = sigma
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.n_episodes = n_episodes
        self.n_hidden = n_hidden
        self.excitatory_ratio = excitatory_ratio
        self.network_params = network_params
        self.max_episode_steps = max_episode_steps
        self.obs_clip = obs_clip
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    def _validate_strategy_params(self):
        _check_param("sigma", self.sigma, low=0, low_open=True)
        _check_param("learning_rate", self.learning_rate, low=0, low_open=True)
        _check_param("weight_decay", self.weight_decay, low=0)
        if isinstance(self.pop, numbers.Integral) and self.pop % 2:
            raise ValueError(f"ESSearch uses antithetic pairs: pop must be even, got {self.pop}.")

    def _make_strategy(self):
        return ES(sigma=self.sigma, learning_rate=self.learning_rate,
                  weight_decay=self.weight_decay)
