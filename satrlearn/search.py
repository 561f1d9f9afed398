"""The estimators: one fit loop (ask -> evaluate -> rank -> tell -> record) over an optimiser."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import multiprocessing
import numbers
import os
import time
import warnings

import numpy as np
from joblib import Parallel, effective_n_jobs
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .checkpoint import estimator_state, read_checkpoint, restore_estimator, write_checkpoint
from .network import NetworkConfig
from .normalization import Moments, ObservationNormalizer, merge_moments
from .parallel import (evaluate_networks, evaluate_population, most_tasks, n_chunks_for,
                       runs_in_workers, task_pickler, worker_count)
from .engine import ActionMap
from .policy import RSNNPolicy
from .rollout import (EnvSource, _check_seed, episode_limit, evaluate_policy, moments_of,
                      observation_size)
from . import optim
from .callbacks import as_callbacks, call_hook
from .strategies.bernoulli import PATH_DECAY
from .shaping import OFFSET_SCHEDULES, offset_at, shaped_fitness, survival_bonus

__all__ = ["BaseSearch", "SATRSearch", "ECSearch", "ESSearch", "HISTORY_KEYS",
           "load_checkpoint"]

#: Columns of ``history_``, one value per generation. ``return_*`` and ``eval_*`` are true
#: returns (the env's own reward); ``fitness_*`` is what ranked the candidates (the return less
#: ``reward_offset`` per step).
HISTORY_KEYS = (
    "generation", "return_mean", "return_max", "return_min", "fitness_mean", "fitness_max",
    "fitness_min", "reward_offset", "return_det", "eval_mean", "eval_std", "eval_top_mean",
    "eval_top_std", "eval_episodes",
    "signal_energy", "noise_energy", "signal_to_noise", "signal_split", "signal_path", "eta",
    "kl", "mean_p", "entropy", "env_steps", "episodes", "wall_time",
)

#: The columns of ``history_`` that a search rule's update reports; a rule that does not
#: report one (ES has no signal path) gets NaN there.
RULE_KEYS = ("signal_energy", "noise_energy", "signal_to_noise", "signal_split", "signal_path",
             "kl", "mean_p", "entropy")

#: Generations a fit runs when no budget (generations, steps or time) is given.
DEFAULT_GENERATIONS = 100
#: Largest ``reward_offset``: far above any per-step reward scale, and the shaped fitness
#: (return less the offset per step) stays finite.
MAX_REWARD_OFFSET = 1e12
#: Final selection of ``best_policy_``: the fit keeps the networks with the best evaluation
#: means (at most this many) and, when it ends, runs them all on the same fresh episodes
#: (:data:`FINAL_EPISODES_FACTOR` times ``eval_episodes``); ``best_policy_`` is the one
#: with the best mean there. The best of many 5-episode means is biased upwards (the
#: winner's curse), most for a network sampled from a broad distribution that falls in
#: some episodes.
FINAL_SHORTLIST = 4
#: Episodes of the final selection, in units of ``eval_episodes``.
FINAL_EPISODES_FACTOR = 2
#: ``eval_every="auto"``: evaluate once per this many training episodes (``pop *
#: n_episodes`` a generation), every 10 generations at a population of 64 and every 40 at
#: 16, so that evaluation takes the same small share of a fit's time at any population.
EVAL_EVERY_EPISODES = 640
#: Largest ``sigma`` and ``learning_rate`` of :class:`ESSearch`: a weight of 1 is one connection
#: at full strength, and the sampled float32 weights and the noise statistics stay finite.
MAX_ES_SCALE = 1e6


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
        raise ValueError(f"{name} must be <= {high:g}, got {value!r}.")


def _check_network_params(network_params):
    """Raise an error naming ``network_params`` when its fields or values are not valid."""
    fields = [f.name for f in dataclasses.fields(NetworkConfig)
              if f.name not in ("n_in", "n_out", "n_hidden", "excitatory_ratio")]
    unknown = [k for k in network_params if k not in fields]
    if unknown:
        raise ValueError(f"network_params has no field {unknown[0]!r}; the fields are "
                         f"{', '.join(fields)}.")
    try:  # the constants on their own, on the smallest network
        NetworkConfig(n_in=1, n_out=1, n_hidden=1, **network_params)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"network_params={network_params!r} is not valid: {exc}") from None


def _check_resume_env(meta_env_id, new_env_id):
    """Warn when a run checkpointed on one environment id is resumed on another.

    Environments of the same sizes pass the network's checks, so nothing else would notice.
    Either id may be None (a factory or an instance): then there is nothing to compare.
    """
    if meta_env_id is not None and new_env_id is not None and meta_env_id != new_env_id:
        warnings.warn(
            f"resuming a run checkpointed on {meta_env_id!r} with the environment "
            f"{new_env_id!r}: the search continues on {new_env_id!r}. Pass env={meta_env_id!r} "
            "(or no env) to continue on the original one.", UserWarning, stacklevel=3)


def _store_params(est, params):
    """``__init__`` stores every argument verbatim (scikit-learn convention), nothing else."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


def _worker_lost(exc) -> bool:
    """Whether ``exc`` means a worker process died (loky, concurrent.futures, dask)."""
    names = {type(e).__name__ for e in (exc, exc.__cause__) if e is not None}
    return bool(names & {"TerminatedWorkerError", "BrokenProcessPool", "KilledWorker",
                         "WorkerCrashedError", "CommClosedError"})


#: ``eta="budget"``: the variance the connections' log-odds reach by the end of the budget
#: when the ranking is sampling noise (the regime of populations far smaller than the
#: network). About 0.06 nats of entropy per connection: the distribution has mostly settled.
BUDGET_LOGIT_VARIANCE = 16.0
#: the share of the budget assumed for the first generation, before one has been measured
BUDGET_FIRST_FRACTION = 0.01
#: ``eta="budget"``: how the log-odds variance is spread over the budget. The variance
#: walked by the time a share ``t`` of the budget is used is
#: ``BUDGET_LOGIT_VARIANCE * t ** BUDGET_POWER``: 1 spreads it evenly, a power under 1
#: spends more of it early (the distribution settles sooner)
BUDGET_POWER = 1.0


def budget_eta(pop: int, fraction, used: float = 0.0, power=None) -> float:
    """SATR's ``eta`` for a generation expected to use ``fraction`` of the budget.

    Under a ranking that carries no information, the SATR step moves each connection's
    log-odds by a Gaussian of standard deviation ``eta * sqrt(sum w^2) / N`` (``w`` the
    centred ranks of ``N = pop`` candidates), whatever ``rho``: a random walk. This ``eta``
    gives the generation a share ``fraction`` of :data:`BUDGET_LOGIT_VARIANCE`, so that the
    walk reaches it when the budget ends, whatever the population and the budget. With a
    ``power`` (default :data:`BUDGET_POWER`) other than 1 the share is that of the schedule
    ``t ** power`` between ``used`` (the share of the budget already used) and
    ``used + fraction``.
    """
    if fraction is None:
        fraction = BUDGET_FIRST_FRACTION
    power = BUDGET_POWER if power is None else float(power)
    share = fraction
    if power != 1.0:
        start = min(max(float(used), 0.0), 1.0)
        share = min(start + fraction, 1.0) ** power - start ** power
        share = max(share, 0.0)
    return _eta_for_variance(pop, BUDGET_LOGIT_VARIANCE * share)


#: ``eta="signal"``: the signal estimate can scale a generation's share of the log-odds
#: variance by at most this factor, up or down
SIGNAL_RANGE = 4.0


def _rank_energy(pop: int) -> float:
    """Sum of squared centred ranks of ``pop`` candidates without ties."""
    n = int(pop)
    return n * (n + 1) / (12.0 * (n - 1))


def _eta_for_variance(pop: int, variance: float) -> float:
    """The ``eta`` whose step moves each connection's log-odds by ``variance`` in one
    generation of ``pop`` candidates under a ranking that carries no information (noise of
    standard deviation ``eta * sqrt(sum w^2) / N``)."""
    return float(np.sqrt(variance) * int(pop) / np.sqrt(_rank_energy(pop)))


def signal_eta(pop: int, fraction, used: float, spent: float, estimate: float,
               reference: float) -> float:
    """SATR's ``eta`` for ``eta="signal"``: the budget's log-odds variance, spent where the
    signal is.

    With a ranking that is mostly noise, a generation's step moves the log-odds by noise of
    variance ``v = eta^2 sum(w^2) / N^2`` plus a drift along the signal of ``sqrt(v)`` times
    the signal's strength. For a fixed total variance (:data:`BUDGET_LOGIT_VARIANCE`, which
    decides how settled the distribution ends), the drift summed over the run is largest
    when each generation's ``v`` is proportional to its signal energy. This rule gives the
    generation the share of the variance not yet ``spent`` that ``eta="budget"`` would
    (``fraction`` of the budget out of the ``1 - used`` left), times
    ``estimate / reference`` kept within ``[1 / SIGNAL_RANGE, SIGNAL_RANGE]``: ``estimate``
    is the signal-path estimate of the last generation (``signal_path`` in ``history_``)
    and ``reference`` the mean of its positive part so far. A ``reference`` of 0 or NaN
    (before the path has a memory) gives the budget's share.
    """
    if fraction is None:
        fraction = BUDGET_FIRST_FRACTION
    remaining = max(BUDGET_LOGIT_VARIANCE - spent, 0.0)
    share = fraction / max(1.0 - used, fraction)
    multiplier = 1.0
    if np.isfinite(reference) and reference > 0 and np.isfinite(estimate):
        multiplier = float(np.clip(max(estimate, 0.0) / reference, 1.0 / SIGNAL_RANGE,
                                   SIGNAL_RANGE))
    return _eta_for_variance(pop, min(remaining * share * multiplier, remaining))


#: ``eta="steady"``: the variance by which one generation moves each connection's log-odds
#: when the ranking is sampling noise, whatever the population: ``eta=8`` at a population of
#: 16 (EC's settled search under SATR's rule, docs/tuning.md)
STEADY_LOGIT_VARIANCE = 8.0 ** 2 * _rank_energy(16) / 16 ** 2
#: ``rho_eps="auto"`` with ``eta="steady"``: the floor falls geometrically from the first
#: to the second over the budget (:func:`floor_at`)
STEADY_FLOOR = (0.01, 0.001)


def steady_eta(pop: int) -> float:
    """SATR's ``eta`` for ``eta="steady"``: the step that moves each connection's log-odds
    by :data:`STEADY_LOGIT_VARIANCE` per generation under a ranking that carries no
    information (8 at a population of 16, about 16.8 at 64)."""
    return _eta_for_variance(pop, STEADY_LOGIT_VARIANCE)


def _check_floor(rho_eps):
    """Raise an error naming ``rho_eps`` unless it is ``"auto"``, a number in (0, 0.5] or a
    pair ``(start, end)`` of them."""
    if isinstance(rho_eps, str):
        if rho_eps != "auto":
            raise ValueError(f"rho_eps must be 'auto', a number or a pair (start, end) of "
                             f"numbers, got {rho_eps!r}.")
    elif isinstance(rho_eps, (tuple, list)):
        if len(rho_eps) != 2:
            raise ValueError(f"rho_eps must be a number or a pair (start, end) of numbers, "
                             f"got {len(rho_eps)} values: {rho_eps!r}.")
        for value in rho_eps:
            _check_param("rho_eps", value, low=0, high=0.5, low_open=True)
    else:
        _check_param("rho_eps", rho_eps, low=0, high=0.5, low_open=True)


def resolve_floor(rho_eps, eta):
    """``rho_eps`` with ``"auto"`` resolved for SATR's ``eta``: :data:`STEADY_FLOOR` with
    ``eta="steady"``, else the paper's 0.001; a number or a pair is returned as given."""
    if isinstance(rho_eps, str):
        return STEADY_FLOOR if eta == "steady" else 1e-3
    return rho_eps


def floor_at(rho_eps, progress: float) -> float:
    """The floor ``rho_eps`` in force when a share ``progress`` of the budget is used: the
    number itself, or for a pair ``(start, end)`` the geometric path
    ``start ** (1 - progress) * end ** progress`` between them."""
    if isinstance(rho_eps, (tuple, list)):
        start, end = (float(v) for v in rho_eps)
        t = min(max(float(progress), 0.0), 1.0)
        return float(start ** (1.0 - t) * end ** t)
    return float(rho_eps)


class BaseSearch(BaseEstimator):
    """The fit loop shared by all searches: a driver of one ask/tell optimiser.

    Subclasses define ``__init__`` with their hyperparameters (stored verbatim), the
    :mod:`satrlearn.optim` class they drive (``_optimizer``) and the hyperparameters it takes
    (``_optimizer_params``). See :class:`SATRSearch` for the parameters common to all.
    """

    _min_pop = 2
    _optimizer = None

    # --- hooks ---------------------------------------------------------------------------
    def _optimizer_params(self) -> dict:
        raise NotImplementedError

    def _make_optimizer(self, n_params):
        """The ask/tell optimiser of this search, drawing from the estimator's generator."""
        return self._optimizer(n_params, self.pop, random_state=getattr(self, "_rng", None),
                               **self._optimizer_params())

    def _make_strategy(self):
        """The update rule alone (for reading checkpoints)."""
        return self._optimizer(1, self.pop, **self._optimizer_params()).rule

    @property
    def _state(self):
        """The search distribution and optimiser moments (the optimiser's state)."""
        opt = self.__dict__.get("_opt")
        return None if opt is None else opt.state

    def _set_step_size(self, opt):
        """Adjust the optimiser's step before this generation's update (SATR's
        ``eta="budget"``); a no-op for fixed step sizes."""

    def _budget_fraction_per_generation(self):
        """The share of this fit's budget the next generation is expected to use: one over
        the generation count, or the previous generation's env steps (seconds) over the
        step (time) budget, whichever budget ends first; None before any generation when
        only steps or time bound the fit."""
        (g0, s0, t0), (gens, steps, seconds) = self._budget["start"], self._budget["target"]
        hist = self.history_
        fractions = []
        if gens is not None and gens > g0:
            fractions.append(1.0 / (gens - g0))
        if hist["generation"]:
            prev_steps = hist["env_steps"][-2] if len(hist["env_steps"]) > 1 else 0
            prev_time = hist["wall_time"][-2] if len(hist["wall_time"]) > 1 else 0.0
            if steps is not None and steps > s0:
                fractions.append((hist["env_steps"][-1] - prev_steps) / (steps - s0))
            if seconds is not None and seconds > t0:
                fractions.append((hist["wall_time"][-1] - prev_time) / (seconds - t0))
        return min(max(fractions), 1.0) if fractions else None

    def _validate_strategy_params(self):
        raise NotImplementedError

    # --- validation ----------------------------------------------------------------------
    def _validate_params(self):
        _check_param("pop", self.pop, low=self._min_pop, integer=True)
        _check_param("n_generations", self.n_generations, low=0, integer=True, none_ok=True)
        _check_param("total_timesteps", self.total_timesteps, low=0, integer=True,
                     none_ok=True)
        _check_param("max_time", self.max_time, low=0, none_ok=True)
        if isinstance(self.reward_offset, str):
            if self.reward_offset != "auto":
                raise ValueError(f"reward_offset must be 'auto' or a number >= 0, got "
                                 f"{self.reward_offset!r}.")
        else:  # the bound keeps the fitness (return less offset per step) finite
            _check_param("reward_offset", self.reward_offset, low=0, high=MAX_REWARD_OFFSET)
        if self.offset_schedule not in OFFSET_SCHEDULES:
            raise ValueError(f"offset_schedule must be one of {', '.join(OFFSET_SCHEDULES)}, "
                             f"got {self.offset_schedule!r}.")
        if not (isinstance(self.eval_every, str) and self.eval_every == "auto"):
            if isinstance(self.eval_every, str):
                raise ValueError(f"eval_every must be 'auto', an integer >= 1 or None, got "
                                 f"{self.eval_every!r}.")
            _check_param("eval_every", self.eval_every, low=1, integer=True, none_ok=True)
        _check_param("eval_episodes", self.eval_episodes, low=1, integer=True)
        _check_param("n_episodes", self.n_episodes, low=1, integer=True)
        _check_param("n_hidden", self.n_hidden, low=1, integer=True)
        _check_param("excitatory_ratio", self.excitatory_ratio, low=0, high=1)
        _check_param("max_episode_steps", self.max_episode_steps, low=1, integer=True,
                     none_ok=True)
        _check_param("obs_clip", self.obs_clip, low=0, low_open=True)
        _check_param("verbose", self.verbose, low=0, integer=True)
        _check_param("checkpoint_every", self.checkpoint_every, low=1, integer=True)
        _check_param("max_retries", self.max_retries, low=0, integer=True)
        _check_param("generation_timeout", self.generation_timeout, low=0, low_open=True,
                     none_ok=True)
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir,
                                                              (str, os.PathLike)):
            raise TypeError(f"checkpoint_dir must be a path or None, got {self.checkpoint_dir!r}.")
        if self.n_jobs is not None:
            _check_param("n_jobs", self.n_jobs, integer=True)
            if self.n_jobs == 0:
                raise ValueError("n_jobs == 0 has no meaning; use 1, a positive count or -1 "
                                 "for all cores.")
        _check_seed(self.random_state, "random_state")
        if self.network_params is not None and not isinstance(self.network_params, dict):
            raise TypeError("network_params must be a dict of NetworkConfig fields or None.")
        for key in ("n_in", "n_out", "n_hidden", "excitatory_ratio"):
            if self.network_params and key in self.network_params:
                raise ValueError(f"network_params may not set {key!r}; "
                                 + ("it comes from the environment." if key in ("n_in", "n_out")
                                    else f"use the {key} parameter."))
        if self.network_params:
            _check_network_params(self.network_params)
        callbacks = as_callbacks(self.callbacks)
        self._validate_strategy_params()
        return callbacks

    # --- the loop ------------------------------------------------------------------------
    def fit(self, env, y=None, *, env_kwargs=None):
        """Search for a policy on ``env``.

        Parameters
        ----------
        env : str, gymnasium.envs.registration.EnvSpec, callable or gymnasium.Env
            A registered id (``"Hopper-v5"``), a spec, a zero-argument factory returning an
            env, or an instance.

            An instance runs as it is when the search runs in this process (``n_jobs=1``):
            every attribute and wrapper it has is kept, and it is never closed. Worker
            processes (``n_jobs`` > 1, or a dask or ray cluster) rebuild it with
            ``gymnasium.make(env.spec)``; that is accepted only when it reproduces the
            instance's stack of wrappers (fit refuses an instance without a spec, or one
            wrapped by hand in a wrapper that its spec cannot recreate), and changes made to
            the instance after it was made are not seen there (a warning says so). Pass a
            factory for those. Factories, lambdas and closures included, go to workers as the
            parallel backend pickles them (cloudpickle for loky, dask and ray).
        y : ignored
            Present for scikit-learn API compatibility.
        env_kwargs : dict, optional
            Keyword arguments of ``gymnasium.make`` for an id or a spec, e.g.
            ``fit("Hopper-v5", env_kwargs={"healthy_reward": 0.0})``.

        Returns
        -------
        self
            Fitted; on Ctrl-C, fitted with the last completed generation (with a warning).
        """
        callbacks = self._validate_params()
        source, config, action_map = self._prepare_env(env, env_kwargs)
        fitted = getattr(self, "_state", None) is not None
        if not (self.warm_start and fitted and self.network_config_ == config):
            if self.warm_start and fitted:
                warnings.warn("warm_start ignored: the network sizes changed; starting afresh.")
            self._init_search(config)
        self._set_budget()
        return self._run(source, config, action_map, callbacks)

    def _set_budget(self):
        """Targets of this call of ``fit``, counted from where the search stands now."""
        gens, steps, seconds = self.n_generations, self.total_timesteps, self.max_time
        if gens is None and steps is None and seconds is None:
            gens = DEFAULT_GENERATIONS
        self._budget = {
            "start": [self.n_generations_, self.env_steps_, self.wall_time_],
            "target": [None if gens is None else self.n_generations_ + gens,
                       None if steps is None else self.env_steps_ + steps,
                       None if seconds is None else self.wall_time_ + seconds],
        }

    def _progress_fraction(self, generations=None, steps=None, seconds=None) -> float:
        """How much of this fit's budget is used (0 to 1): the most-used of its limits."""
        now = [self.n_generations_ if generations is None else generations,
               self.env_steps_ if steps is None else steps,
               self.wall_time_ if seconds is None else seconds]
        fractions = [1.0 if target <= start else (value - start) / (target - start)
                     for value, start, target in zip(now, self._budget["start"],
                                                     self._budget["target"])
                     if target is not None]
        return min(max(fractions), 1.0)

    def _survival_share(self, lengths):
        """The share of the episode time limit a generation's episodes lasted on average
        (``offset_schedule="survival"``); 1 when the schedule does not read it."""
        if self.offset_schedule != "survival" or not self.reward_offset_:
            return 1.0
        limit = getattr(self, "_episode_limit", None)
        if not limit:  # no time limit to measure against: the whole offset (warned at fit)
            return 1.0
        return float(np.mean(lengths)) / (self.n_episodes * limit)

    def _stop_now(self):
        """End the fit after the current generation (a callback asked for it)."""
        self._budget["target"][0] = self.n_generations_

    def resume(self, env=None, *, env_kwargs=None):
        """Continue the run saved in ``checkpoint_dir`` up to its planned generation count.

        The result is identical to a run that was never interrupted (``wall_time`` aside).
        ``env`` defaults to the environment id recorded in the checkpoint (with the
        ``env_kwargs`` the fit was given); pass it when the run used a factory or an instance.
        Resuming on another id than the checkpoint's warns.
        """
        if self.checkpoint_dir is None:
            raise ValueError("resume() needs checkpoint_dir: the folder the run checkpointed to.")
        callbacks = self._validate_params()
        meta, arrays = read_checkpoint(self.checkpoint_dir, _strategy_of)
        if meta["estimator"] != type(self).__name__:
            raise ValueError(
                f"the checkpoint in {self.checkpoint_dir!r} is from {meta['estimator']}, not "
                f"{type(self).__name__}; use satrlearn.load_checkpoint() to get the right one.")
        if env is None:
            env = meta.get("env")
            if env is None:
                raise ValueError(
                    "the checkpointed run used an environment without an id (a factory or an "
                    "instance); pass it: resume(env).")
            if env_kwargs is None:
                env_kwargs = meta.get("env_kwargs")
        source, config, action_map = self._prepare_env(env, env_kwargs)
        _check_resume_env(meta.get("env"), self._env_id)
        stored = NetworkConfig.from_dict(meta["network"])
        if config != stored:
            raise ValueError(_network_mismatch(config, stored))
        env_id, kwargs = self._env_id, self._env_kwargs
        self._restore(meta, arrays, config, action_map)
        self._env_id, self._env_kwargs = env_id, kwargs  # the run goes on with this env
        return self._run(source, config, action_map, callbacks)

    def _prepare_env(self, env, env_kwargs=None):
        source = EnvSource(env, max_episode_steps=self.max_episode_steps, env_kwargs=env_kwargs)
        if runs_in_workers(self.n_jobs):
            source.prepare_for_workers(task_pickler())  # refuses what workers cannot build
        probe = source.make()
        try:
            obs_space = probe.observation_space
            n_in = observation_size(obs_space)
            action_map = ActionMap(probe.action_space)
            self._obs_shape = tuple(int(d) for d in obs_space.shape)
            self._reward_offset_base = (survival_bonus(probe) if self.reward_offset == "auto"
                                        else float(self.reward_offset))
            self._episode_limit = self.max_episode_steps or episode_limit(probe)
            if (self.offset_schedule == "survival" and self._reward_offset_base
                    and not self._episode_limit):
                warnings.warn(
                    "offset_schedule='survival' scales the reward offset by the share of the "
                    "episodes' time limit they last, and this environment has no time limit, "
                    "so the whole offset applies in every generation (as 'constant'): pass "
                    "max_episode_steps=... to scale it.", stacklevel=3)
        finally:
            if not source.borrows:  # whoever built an environment closes it
                probe.close()
        config = NetworkConfig(n_in=n_in, n_out=action_map.n_out, n_hidden=self.n_hidden,
                               excitatory_ratio=self.excitatory_ratio,
                               **(self.network_params or {}))
        # the id (and arguments) that rebuild exactly this environment, for checkpoints; None
        # for an instance (its attributes may have been changed by hand) and for arguments
        # that JSON cannot hold
        self._env_id, self._env_kwargs = source.env_id, source.env_kwargs or None
        if self._env_kwargs is not None:
            try:
                json.dumps(self._env_kwargs, allow_nan=False)
            except (TypeError, ValueError):
                self._env_id, self._env_kwargs = None, None
        return source, config, action_map

    def _init_search(self, config):
        self._rng = (self.random_state if isinstance(self.random_state, np.random.Generator)
                     else np.random.default_rng(self.random_state))
        self._opt = self._make_optimizer(config.n_params)
        self._normalizer = ObservationNormalizer(config.n_in, clip=self.obs_clip)
        self.history_ = {key: [] for key in HISTORY_KEYS}
        self.n_generations_ = 0
        self.env_steps_ = 0
        self.best_score_ = -np.inf
        self.best_policy_ = None
        self.selection_ = None
        self._shortlist = []
        self.wall_time_ = 0.0

    def _run(self, source, config, action_map, callbacks):
        self.network_config_ = config
        self.action_space_ = action_map.space
        self.reward_offset_ = self._reward_offset_base
        self.interrupted_ = False
        # never more workers than a generation has tasks (n_jobs=1000 for a population of 8)
        par_jobs = worker_count(self.n_jobs, most_tasks(
            self.pop, self.eval_episodes if self.eval_every is not None else 0))
        n_jobs = effective_n_jobs(par_jobs)
        call_hook(callbacks, "on_fit_start", self)
        progress = self._progress()
        retries = 0
        try:
            while self._progress_fraction() < 1.0:
                try:
                    # joblib's limit catches a hung env.step in a worker; the rollout's own
                    # deadline covers in-process runs (the sequential backend has no timeout)
                    timeout = self.generation_timeout if n_jobs > 1 else None
                    # batch_size=1: every task is a chunk of whole episodes; joblib's
                    # automatic batching would learn from the short ones (the deterministic
                    # network's episode, early generations) to send several chunks as one
                    # batch to one worker while the others wait
                    with Parallel(n_jobs=par_jobs, timeout=timeout, batch_size=1) as par:
                        while self._progress_fraction() < 1.0:
                            record = self._generation(par, n_jobs, config, action_map,
                                                      source)
                            retries = 0
                            self._after_generation(record, progress, config, action_map)
                            if call_hook(callbacks, "on_generation", self, record):
                                self._stop_now()  # every callback saw the generation
                        self._final_selection(par, n_jobs, config, action_map, source)
                except (TimeoutError, multiprocessing.TimeoutError) as exc:
                    raise TimeoutError(
                        f"generation {self.n_generations_ + 1} took longer than "
                        f"generation_timeout={self.generation_timeout} s (an environment may "
                        "hang); the estimator keeps the last completed generation.") from exc
                except Exception as exc:
                    if not _worker_lost(exc):
                        raise
                    retries += 1
                    if retries > self.max_retries:
                        raise RuntimeError(
                            f"a worker process died during generation {self.n_generations_ + 1}"
                            f" {retries} times in a row ({type(exc).__name__}: {exc}). The "
                            "estimator keeps the last completed generation; check the "
                            "environment's memory use and native code.") from exc
                    warnings.warn(
                        f"a worker process died during generation {self.n_generations_ + 1} "
                        f"({type(exc).__name__}); retrying it ({retries}/{self.max_retries}).",
                        RuntimeWarning, stacklevel=2)
        except KeyboardInterrupt:
            self.interrupted_ = True
            warnings.warn(
                f"fit interrupted; the estimator keeps generation {self.n_generations_}.",
                RuntimeWarning, stacklevel=2)
        finally:
            if progress is not None:
                progress[0].close()
            self._finalize(config, action_map)
            if self.checkpoint_dir is not None:
                self.save_checkpoint()
            call_hook(callbacks, "on_fit_end", self)
        return self

    def _after_generation(self, record, progress, config, action_map):
        if progress is not None:
            bar, unit_done = progress
            bar.update(unit_done(record) - bar.n)
            postfix = {"return": f"{record['return_mean']:.1f}",
                       "max": f"{record['return_max']:.1f}",
                       "det": f"{record['return_det']:.1f}"}
            if np.isfinite(self.best_score_):
                postfix["best eval" if self.eval_every else "best det"] = \
                    f"{self.best_score_:.1f}"
            bar.set_postfix(postfix, refresh=False)
        elif self.verbose >= 2:
            print(self._format(record), flush=True)
        self._finalize(config, action_map)  # callbacks and checkpoints see this generation
        if self.checkpoint_dir is not None and self.n_generations_ % self.checkpoint_every == 0:
            self.save_checkpoint()

    def _progress(self):
        """A tqdm bar over the budget that ends first (generations, env steps or seconds),
        with a function that reads its position from a history record."""
        if self.verbose != 1:
            return None
        from tqdm.auto import tqdm

        (g0, s0, t0), (gens, steps, seconds) = self._budget["start"], self._budget["target"]
        if gens is not None:
            total, unit, done = gens - g0, "gen", lambda r: r["generation"] - g0
        elif steps is not None:
            total, unit, done = steps - s0, "step", lambda r: min(r["env_steps"] - s0,
                                                                   steps - s0)
        else:
            total, unit, done = (round(seconds - t0, 1), "s",
                                 lambda r: round(min(r["wall_time"], seconds) - t0, 1))
        bar = tqdm(total=total, desc=type(self).__name__, unit=unit,
                   unit_scale=unit == "step", dynamic_ncols=True)
        return bar, done

    @staticmethod
    def _format(record):
        evaluated = (f"  eval {record['eval_mean']:9.2f} +- {record['eval_std']:.1f} (top "
                     f"candidate {record['eval_top_mean']:.2f})"
                     if record["eval_episodes"] else "")
        return (f"gen {record['generation']:4d}  return mean {record['return_mean']:9.2f}  max "
                f"{record['return_max']:9.2f}  det {record['return_det']:9.2f}{evaluated}  "
                f"fitness mean {record['fitness_mean']:9.2f}  "
                f"|g|^2 {record['signal_energy']:.3g} ({record['signal_to_noise']:.2f}x noise)"
                f"  KL {record['kl']:.3g}  "
                f"steps {record['env_steps']}  {record['wall_time']:.1f}s")

    def _generation(self, parallel, n_jobs, config, action_map, source):
        """Run one generation; on any failure the estimator is left exactly as before it,
        random generator and optimiser included, so a retry or a resume draws the same seeds."""
        rng_state = self._rng.bit_generator.state
        opt_state = (self._opt.state, self._opt.generation)  # tell() replaces, never mutates
        try:
            return self._generation_body(parallel, n_jobs, config, action_map, source)
        except BaseException:
            self._rng.bit_generator.state = rng_state
            self._opt.state, self._opt.generation = opt_state
            self._opt._asked = None
            raise

    def _generation_body(self, parallel, n_jobs, config, action_map, source):
        t0 = time.perf_counter()
        rng, opt = self._rng, self._opt
        seeds, signs = opt.ask_seeds()
        episode_seeds = rng.integers(0, 2**31 - 1, size=self.n_episodes)
        det_seed = int(rng.integers(0, 2**63))
        frozen = self._normalizer
        deadline = None if self.generation_timeout is None else \
            time.time() + self.generation_timeout
        # the deterministic network of the distribution that sampled this generation runs one
        # episode beside the candidates, in the workers
        result = evaluate_population(parallel, n_jobs, opt.rule, opt.state,
                                     seeds, signs,
                                     source, config, action_map, frozen, episode_seeds,
                                     deadline=deadline,
                                     mode_seeds=(det_seed % (2**31 - 1), det_seed))
        returns = result["returns"]
        offset = offset_at(self.reward_offset_, self.offset_schedule, self._progress_fraction(),
                           self._survival_share(result["lengths"]))
        fitness = shaped_fitness(returns, result["lengths"], self.n_episodes, offset)
        sampled_from = opt.state  # its mode played return_det's episode
        # the workers sent their candidates back (packed): no need to draw them again here
        self._set_step_size(opt)
        info = opt.tell(fitness, result["samples"])
        moments = Moments(config.n_in)
        for i in range(len(seeds)):  # in candidate order: identical for any n_jobs
            moments = merge_moments(moments, moments_of(result, i))
        normalizer = frozen.copy()
        normalizer.merge(moments)
        det_params = opt.mode
        steps = int(result["lengths"].sum())
        last = self._progress_fraction(self.n_generations_ + 1, self.env_steps_ + steps,
                                       self.wall_time_ + time.perf_counter() - t0) >= 1.0
        interval = self.eval_interval()
        evaluated = interval is not None and ((self.n_generations_ + 1) % interval == 0 or last)
        evaluation = None
        if evaluated:
            # the new deterministic network and the generation's top-ranked candidate play
            # the same fresh episodes, in the workers: the mode of a distribution that is
            # still broad can be worse than the networks it samples
            top = int(np.argmax(fitness))
            top_params = opt.sample(seeds[top], signs[top],
                                    distribution=opt.rule.distribution(sampled_from))
            eval_seeds = rng.integers(0, 2**31 - 1, size=self.eval_episodes)
            membrane_seeds = rng.integers(0, 2**63, size=self.eval_episodes)
            evaluation = evaluate_networks(
                parallel, n_chunks_for(n_jobs), [det_params, top_params], source, config,
                action_map, normalizer, eval_seeds, membrane_seeds, deadline=deadline)
        # commit the generation only now: an error above leaves the last one intact
        self._normalizer = normalizer
        self.n_generations_ += 1
        self.env_steps_ += steps
        self.wall_time_ += time.perf_counter() - t0
        record = {
            "generation": self.n_generations_,
            "return_mean": float(returns.mean()),
            "return_max": float(returns.max()),
            "return_min": float(returns.min()),
            "fitness_mean": float(fitness.mean()),
            "fitness_max": float(fitness.max()),
            "fitness_min": float(fitness.min()),
            "reward_offset": offset,
            "return_det": float(result["mode_return"]),
            "eval_mean": float(evaluation[0].mean()) if evaluated else math.nan,
            "eval_std": float(evaluation[0].std()) if evaluated else math.nan,
            "eval_top_mean": float(evaluation[1].mean()) if evaluated else math.nan,
            "eval_top_std": float(evaluation[1].std()) if evaluated else math.nan,
            "eval_episodes": self.eval_episodes if evaluated else 0,
            **dict.fromkeys(RULE_KEYS, math.nan),
            **info,
            "eta": float(getattr(opt.rule, "eta", math.nan)),
            "env_steps": self.env_steps_,
            "episodes": int(result["episodes"].sum()),
            "wall_time": self.wall_time_,
        }
        for key in HISTORY_KEYS:
            self.history_[key].append(record[key])
        if evaluated:
            self._shortlist_add(record["eval_mean"], det_params, normalizer)
            self._shortlist_add(record["eval_top_mean"], top_params, normalizer)
        # the best network: by its evaluation when there is one, else by its one episode
        if self.eval_every is None:
            score, (params, norm) = record["return_det"], (opt.rule.mode(sampled_from), frozen)
        elif record["eval_top_mean"] > record["eval_mean"]:
            score, (params, norm) = record["eval_top_mean"], (top_params, normalizer)
        else:
            score, (params, norm) = record["eval_mean"], (det_params, normalizer)
        if score > self.best_score_:
            self.best_score_ = score
            self.best_policy_ = RSNNPolicy(config, params, norm.copy(), action_map,
                                           observation_shape=getattr(self, "_obs_shape", None))
        return record

    def eval_interval(self):
        """Generations between two evaluations: ``eval_every``, or for ``"auto"`` one per
        :data:`EVAL_EVERY_EPISODES` training episodes (None: no evaluation).

        Examples
        --------
        >>> SATRSearch(pop=16).eval_interval(), ECSearch(pop=64).eval_interval()
        (40, 10)
        >>> SATRSearch(eval_every=3).eval_interval()
        3
        """
        if not (isinstance(self.eval_every, str) and self.eval_every == "auto"):
            return self.eval_every
        return max(1, round(EVAL_EVERY_EPISODES / (self.pop * self.n_episodes)))

    def _shortlist_add(self, score, params, normalizer):
        """Keep ``params`` (with a copy of its normaliser) among the :data:`FINAL_SHORTLIST`
        evaluated networks with the best evaluation means."""
        shortlist = self.__dict__.get("_shortlist")
        if shortlist is None:  # restored from a checkpoint: the best network so far
            best = self.best_policy_
            shortlist = self._shortlist = [] if best is None or not np.isfinite(
                self.best_score_) else [(float(self.best_score_), best.params, best.normalizer)]
        if not np.isfinite(score) or (len(shortlist) >= FINAL_SHORTLIST
                                      and score <= shortlist[-1][0]):
            return
        shortlist.append((float(score), params, normalizer.copy()))
        shortlist.sort(key=lambda entry: -entry[0])  # stable: the earlier of equal scores first
        del shortlist[FINAL_SHORTLIST:]

    def _final_selection(self, parallel, n_jobs, config, action_map, source):
        """At the end of a fit, run the shortlisted networks on the same fresh episodes and
        make the best of them ``best_policy_`` (:data:`FINAL_SHORTLIST`); ``selection_``
        records their scores. Nothing changes until every episode has run, and the search's
        own random stream does not move (a resumed fit continues it bit for bit)."""
        shortlist = self.__dict__.get("_shortlist") or []
        if self.eval_every is None or len(shortlist) < 2:
            return
        t0 = time.perf_counter()
        rng = copy.deepcopy(self._rng)
        n = FINAL_EPISODES_FACTOR * self.eval_episodes
        episode_seeds = rng.integers(0, 2**31 - 1, size=n)
        membrane_seeds = rng.integers(0, 2**63, size=n)
        deadline = None if self.generation_timeout is None else \
            time.time() + self.generation_timeout
        returns = evaluate_networks(parallel, n_chunks_for(n_jobs),
                                    [params for _, params, _ in shortlist], source, config,
                                    action_map, [norm for _, _, norm in shortlist],
                                    episode_seeds, membrane_seeds, deadline=deadline)
        means = [float(r.mean()) for r in returns]
        chosen = int(np.argmax(means))
        self.selection_ = {"eval_scores": [entry[0] for entry in shortlist],
                           "final_means": means,
                           "final_stds": [float(r.std()) for r in returns],
                           "episodes": n, "chosen": chosen}
        _, params, normalizer = shortlist[chosen]
        self.best_score_ = means[chosen]
        self.best_policy_ = RSNNPolicy(config, params, normalizer.copy(), action_map,
                                       observation_shape=getattr(self, "_obs_shape", None))
        # a continued fit ranks its new evaluations against the better estimates
        self._shortlist = sorted(((m, p, nm) for m, (_, p, nm) in zip(means, shortlist)),
                                 key=lambda entry: -entry[0])
        self.wall_time_ += time.perf_counter() - t0

    def _finalize(self, config, action_map):
        self.policy_ = RSNNPolicy(config, self._opt.mode,
                                  self._normalizer.copy(), action_map,
                                  observation_shape=getattr(self, "_obs_shape", None))
        if self.best_policy_ is None:
            self.best_policy_ = self.policy_

    # --- checkpoints -------------------------------------------------------------------
    def save_checkpoint(self, directory=None) -> str:
        """Write the full search state to ``directory/checkpoint.npz`` (default: checkpoint_dir).

        Distribution, optimiser state, normaliser, random generator, counters, history and
        the best network so far; written atomically, readable without pickle.
        """
        self._check_fitted()
        directory = self.checkpoint_dir if directory is None else directory
        if directory is None:
            raise ValueError("pass a directory or set checkpoint_dir.")
        return write_checkpoint(directory, *estimator_state(self))

    def _restore(self, meta, arrays, config, action_map):
        restore_estimator(self, meta, arrays, config, action_map, HISTORY_KEYS)
        self.__dict__.pop("_shortlist", None)  # seeded from the restored best network
        self.selection_ = None
        self._finalize(config, action_map)

    # --- using the result --------------------------------------------------------------
    def _check_fitted(self):
        check_is_fitted(self, "policy_")

    def predict(self, X):
        """Actions for consecutive observations ``X (T, obs_dim)`` from a fresh network state.

        Returns ``(T, *action_shape)`` for Box actions and ``(T,)`` for Discrete ones.
        """
        self._check_fitted()
        return self.policy_.run_sequence(X, seed=0)

    def score(self, env, n_episodes=10, seed=0, *, env_kwargs=None):
        """Mean return of ``policy_`` over ``n_episodes`` episodes of ``env``; higher is better.

        Parameters
        ----------
        env : str, EnvSpec, callable or gymnasium.Env
            As for :meth:`fit`; an instance is used as it is and left open.
        n_episodes : int, default=10
        seed : int >= 0, numpy Generator or None, default=0
            Determines the episode seeds and the initial membrane states.
        env_kwargs : dict, optional
            Keyword arguments of ``gymnasium.make`` for an id or a spec.

        Raises
        ------
        RolloutError
            When the environment returns a non-finite reward or observation (or misbehaves
            otherwise), as :meth:`fit` does, instead of a NaN score.
        """
        self._check_fitted()
        return evaluate_policy(self.policy_, env, n_episodes=n_episodes, seed=seed,
                               env_kwargs=env_kwargs)[0]

    @property
    def distribution_(self) -> dict:
        """The current search distribution (``rho`` or ``mu`` and optimiser moments)."""
        if getattr(self, "_state", None) is None:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet.")
        return {k: np.copy(v) for k, v in self._state.items()}


_POP_DOC = """
    pop : int, default=64
        Population size: candidates sampled and evaluated per generation.
"""

_COMMON_DOC = """
    n_generations : int, optional
        Generations to run in one call of ``fit``.
    total_timesteps : int, optional
        Environment steps (of the whole population) to use in one call of ``fit``, as
        Stable-Baselines3 counts them.
    max_time : float, optional
        Seconds of search (wall-clock) in one call of ``fit``.

        ``fit`` stops after the generation that reaches the first of ``n_generations``,
        ``total_timesteps`` and ``max_time`` that is set; with none set it runs 100
        generations. Checkpoints keep the budget: :meth:`resume` finishes the same one.
    reward_offset : float or "auto", default="auto"
        Reward subtracted per environment step from the fitness that ranks the candidates,
        never from a reported return. ``"auto"`` reads the task's own survival bonus: the
        ``healthy_reward`` of Gymnasium's MuJoCo locomotion tasks that end when the body falls
        (1 on Hopper, Walker2d and Ant, 5 on Humanoid), 0 on every other task. Without it,
        standing still until the time limit is the easiest high fitness there
        (docs/concepts.md). 0 turns shaping off; at most 1e12.
    offset_schedule : {"survival", "constant", "linear"}, default="survival"
        ``"survival"`` scales the offset, each generation, by the share of the episode time
        limit (``max_episode_steps`` or the env's own) that the generation's episodes lasted
        on average, over :data:`satrlearn.shaping.SURVIVAL_FULL_SHARE` (a quarter): while the
        candidates fall within a few steps, lasting longer still counts in the fitness; once
        they last a quarter of the time limit on average, the whole offset applies
        (docs/concepts.md). Without a time limit it applies whole, with a warning.
        ``"constant"`` always applies the whole offset (the default until 2026-12-04);
        ``"linear"`` lowers it to 0 by the end of the budget.
    eval_every : "auto", int or None, default="auto"
        Every ``eval_every`` generations, and after the last one, the deterministic network
        and the generation's top-ranked candidate run the same ``eval_episodes`` fresh
        episodes (in the workers). When the fit ends (not when it is interrupted), the
        networks with the best evaluation means (up to 4,
        :data:`satrlearn.search.FINAL_SHORTLIST`) run the same ``2 * eval_episodes`` fresh
        episodes, and ``best_policy_`` is the best of them there: the best of many short
        evaluations is biased upwards, most for a network that falls in some episodes.
        ``"auto"`` (the default since 2026-12-05; 10 before) evaluates once per 640 training
        episodes (:data:`satrlearn.search.EVAL_EVERY_EPISODES`): every 10 generations at a
        population of 64, every 40 at 16, so that evaluation costs a few percent of the
        time at any population (:meth:`eval_interval`). None turns evaluation off
        (``best_policy_`` then follows the one-episode ``return_det``).
    eval_episodes : int, default=5
        Episodes of each evaluation.
    n_episodes : int, default=1
        Episodes per candidate; its fitness is the mean undiscounted return (less the
        reward offset). All candidates of a generation share the episode seeds.
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
        ``joblib.parallel_config``; -1 is every core). Under
        ``joblib.parallel_config(backend="dask")`` the cluster decides; on ray pass -1
        (docs/scaling.md). No more workers start than a generation has tasks (``pop + 1``,
        or ``2 * eval_episodes`` when that is more).
    random_state : int >= 0, numpy Generator or None
        Determines every candidate, episode seed and initial membrane state, whatever n_jobs.
    verbose : int, default=0
        0 silent, 1 a progress bar, 2 one line per generation.
    warm_start : bool, default=False
        Continue from the current distribution on the next ``fit``.
    callbacks : list of callbacks, optional
        Functions ``cb(estimator, record)`` called after every generation (``record`` is that
        generation's row of ``history_``; returning ``False`` ends the fit), or objects with
        ``on_fit_start(estimator)``, ``on_generation(estimator, record)`` and
        ``on_fit_end(estimator)`` (:mod:`satrlearn.callbacks`: ``StopOnReturn``,
        ``CSVLogger``, ``TensorBoardLogger``).
    checkpoint_dir : str or path, optional
        Write the full search state to ``checkpoint_dir/checkpoint.npz`` every
        ``checkpoint_every`` generations and when ``fit`` ends (also on Ctrl-C or an error);
        :meth:`resume` or ``satrlearn.load_checkpoint`` continue from it bit-identically.
    checkpoint_every : int, default=10
    max_retries : int, default=2
        A generation whose worker process dies is retried (with the same seeds) this many
        times before ``fit`` raises.
    generation_timeout : float, optional
        Seconds one generation may take; past it ``fit`` raises ``TimeoutError`` and keeps the
        last completed generation.

    Attributes
    ----------
    policy_ : RSNNPolicy
        The deterministic network of the final distribution, with its normaliser.
    best_policy_ : RSNNPolicy
        The evaluated network (deterministic network or top candidate) with the highest
        mean in the final selection (see ``eval_every``); while the fit runs, or after an
        interrupted one, the one with the highest evaluation mean so far (the deterministic
        network with the highest ``return_det`` when ``eval_every`` is None).
    best_score_ : float
        Its true return (mean over the final selection's episodes, else its evaluation).
    selection_ : dict or None
        The final selection: ``eval_scores`` (the shortlisted networks' evaluation means
        during the fit, best first), ``final_means`` and ``final_stds`` (their true returns
        on the selection's shared episodes), ``episodes`` and ``chosen`` (the index of
        ``best_policy_``). None when no selection ran (evaluation off, fewer than two
        evaluated networks, or an interrupted fit).
    reward_offset_ : float
        The reward offset per step that ``reward_offset`` resolved to (before the schedule).
    history_ : dict of lists
        Per generation: ``generation, return_mean, return_max, return_min`` (true returns of
        the candidates), ``fitness_mean, fitness_max, fitness_min`` (the shaped fitness that
        ranked them), ``reward_offset`` (the offset applied), ``return_det`` (one episode of
        the deterministic network of the distribution that sampled the generation),
        ``eval_mean, eval_std`` (the evaluation of the updated deterministic network on
        ``eval_episodes`` fresh episodes), ``eval_top_mean, eval_top_std`` (the generation's
        top-ranked candidate on the same episodes), ``eval_episodes`` (NaN and 0 in
        generations without an evaluation),
        ``signal_energy`` (``||g||^2``), ``noise_energy`` (the ``||g||^2`` expected if the
        ranking carried no information about the candidates), ``signal_to_noise`` (their
        ratio: near 1 means the step is driven by sampling noise), ``signal_split`` (the inner
        product of the signals of the two halves of the population: an estimate of the
        signal energy that sampling noise does not inflate, near 0 without information),
        ``signal_path`` (the signal energy of one generation as a fraction of its noise,
        estimated from the signals of the last 20 or so generations: near 0 without
        information, and far less noisy than ``signal_split``; NaN for ES), ``eta`` (SATR's
        step size in that generation; NaN for EC and ES),
        ``kl`` (exact KL between
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
    pop : int, default=16
        Population size: candidates sampled and evaluated per generation. With
        ``eta="budget"`` a small population re-estimates the signal more often at the same
        budget: 32 was ahead of 64 and 128 in the defaults grid, and 16 ahead of 32 on
        HalfCheetah-v5 and Walker2d-v5 at 3 minutes of wall time on 2 cores, behind on
        Hopper-v5 (docs/tuning.md). A generation waits for its slowest worker, so with many
        cores a population of a few candidates per core (e.g. 32 or 64 on 8 cores) keeps
        them busier.
    eta : "steady", "budget", "signal" or float, default="steady"
        Step size of the SATR update. At populations far smaller than the number of
        connections the ranking is mostly sampling noise, so the step sets how fast the
        distribution settles and how much a settled one still moves (docs/concepts.md).
        ``"steady"`` moves each connection's log-odds by the same variance every generation
        at any population (:func:`steady_eta`: 8 at ``pop=16``): the distribution settles
        within about a hundred generations onto the floor ``rho_eps`` and keeps moving
        there, every connection still able to change sides, as EC's Adam steps do; with
        the default falling floor it settles further as the budget ends.
        ``"budget"`` sets it anew every generation from the population and the share of the
        budget (``n_generations``, ``total_timesteps`` or ``max_time``) the generation uses,
        so that the distribution settles when the budget ends, whatever the population
        and the budget (:func:`budget_eta`). ``"signal"`` spends the same total step, but
        gives each generation more or less of it as the signal-path estimate of the
        signal energy (``signal_path`` in ``history_``) is above or below its mean so far
        (:func:`signal_eta`). A number fixes it (the paper's form), e.g. ``eta=8`` is
        ``"steady"`` at ``pop=16``.
    budget_power : float or None, default=None
        With ``eta="budget"``, how the schedule spreads the log-odds variance over the
        budget: by the time a share ``t`` of the budget is used, the walk has reached
        ``BUDGET_LOGIT_VARIANCE * t ** budget_power``. 1 spreads it evenly; a power under 1
        spends more of it early, so the distribution settles sooner (0.5: half of it in the
        first quarter of the budget). The even schedule did better at 3 minutes of wall
        time on 2 cores on Hopper-v5 and Walker2d-v5; at 10 minutes 0.5 did better on
        Hopper-v5 and on two of three Walker2d-v5 seeds, the third stalling at its flat
        start (docs/tuning.md). None takes :data:`BUDGET_POWER` (1).
    rho_eps : "auto", float or (float, float), default="auto"
        ``rho`` is kept in ``[rho_eps, 1 - rho_eps]``: a floor on exploration, since every
        sample then differs from the most likely network in about ``rho_eps`` of the
        settled connections, and a settled connection can be moved back. A pair
        ``(start, end)`` lowers the floor geometrically from ``start`` to ``end`` as the
        budget is used (:func:`floor_at`): a search that keeps moving early and settles
        late. Each in (0, 0.5]. ``"auto"`` is :data:`STEADY_FLOOR` (0.01 falling to 0.001)
        with ``eta="steady"`` and the paper's 0.001 otherwise.
    antithetic : bool, default=False
        Draw candidates in pairs from the same uniforms (``u < rho`` and ``1 - u < rho``),
        as ES draws ``mu +/- sigma eps``; the twins also share their initial membranes.
        ``pop`` must be even.
    """ + _COMMON_DOC + """
    Examples
    --------
    >>> from satrlearn import SATRSearch
    >>> est = SATRSearch(pop=32, n_generations=5, random_state=0).fit("CartPole-v1")
    >>> est.score("CartPole-v1", n_episodes=3)  # doctest: +SKIP
    """

    def __init__(self, pop=16, n_generations=None, *, eta="steady", budget_power=None,
                 rho_eps="auto", antithetic=False,
                 total_timesteps=None, max_time=None, reward_offset="auto",
                 offset_schedule="survival", eval_every="auto", eval_episodes=5, n_episodes=1,
                 n_hidden=256, excitatory_ratio=0.5, network_params=None,
                 max_episode_steps=None, obs_clip=10.0, n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, callbacks=None,
                 checkpoint_dir=None, checkpoint_every=10, max_retries=2,
                 generation_timeout=None):
        _store_params(self, locals())

    def _validate_strategy_params(self):
        if isinstance(self.eta, str):
            if self.eta not in ("steady", "budget", "signal"):
                raise ValueError(f"eta must be a positive number, 'steady', 'budget' or "
                                 f"'signal', got {self.eta!r}.")
        else:
            _check_param("eta", self.eta, low=0, low_open=True)
        if self.budget_power is not None:
            _check_param("budget_power", self.budget_power, low=0, low_open=True)
            if self.eta != "budget":
                raise ValueError(f"budget_power shapes the schedule of eta='budget' only; "
                                 f"with eta={self.eta!r} leave it None (or set "
                                 "eta='budget').")
        _check_floor(self.rho_eps)
        optim._check_antithetic(self.antithetic, self.pop)

    _optimizer = optim.SATR

    def _optimizer_params(self):
        if self.eta == "steady":
            eta = steady_eta(self.pop)
        elif isinstance(self.eta, str):
            eta = budget_eta(self.pop, None, 0.0, self.budget_power)
        else:
            eta = self.eta
        return {"eta": eta, "rho_eps": floor_at(resolve_floor(self.rho_eps, self.eta), 0.0),
                "antithetic": self.antithetic}

    def _set_step_size(self, opt):
        # the optimiser's own values too, so that its get_params and files say what it used
        floor = resolve_floor(self.rho_eps, self.eta)
        if not isinstance(floor, numbers.Real):
            opt.rho_eps = opt.rule.rho_eps = floor_at(floor, self._progress_fraction())
        if self.eta == "budget":
            opt.eta = opt.rule.eta = budget_eta(
                self.pop, self._budget_fraction_per_generation(), self._progress_fraction(),
                self.budget_power)
        elif self.eta == "signal":
            opt.eta = opt.rule.eta = signal_eta(
                self.pop, self._budget_fraction_per_generation(), self._progress_fraction(),
                *self._signal_so_far())

    def _signal_so_far(self):
        """``(spent, estimate, reference)`` for :func:`signal_eta`, from ``history_``: the
        log-odds variance this fit's generations spent, the last signal-path estimate and
        the mean of its positive part over the generations whose path has a full memory."""
        hist = self.history_
        start = self._budget["start"][0]
        gens = np.asarray(hist["generation"], dtype=np.int64)
        etas = np.asarray(hist["eta"], dtype=np.float64)
        this_fit = gens > start
        spent = float(np.nansum(etas[this_fit] ** 2)) * _rank_energy(self.pop) / self.pop ** 2
        path = np.asarray(hist["signal_path"], dtype=np.float64)
        full = path[gens >= round(1.0 / PATH_DECAY)]
        full = full[np.isfinite(full)]
        reference = float(np.mean(np.maximum(full, 0.0))) if full.size else math.nan
        estimate = float(path[-1]) if path.size else math.nan
        return spent, estimate, reference


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
    antithetic : bool, default=False
        Candidates in pairs from the same uniforms, as in :class:`SATRSearch`.
    """ + _POP_DOC + _COMMON_DOC

    def __init__(self, pop=64, n_generations=None, *, learning_rate=0.15, trust_region=None,
                 rho_eps=1e-3, antithetic=False, total_timesteps=None, max_time=None,
                 reward_offset="auto",
                 offset_schedule="survival", eval_every="auto", eval_episodes=5, n_episodes=1,
                 n_hidden=256, excitatory_ratio=0.5,
                 network_params=None, max_episode_steps=None, obs_clip=10.0, n_jobs=None,
                 random_state=None, verbose=0, warm_start=False, callbacks=None,
                 checkpoint_dir=None, checkpoint_every=10, max_retries=2,
                 generation_timeout=None):
        _store_params(self, locals())

    def _validate_strategy_params(self):
        _check_param("learning_rate", self.learning_rate, low=0, low_open=True)
        _check_param("trust_region", self.trust_region, low=0, low_open=True, none_ok=True)
        _check_param("rho_eps", self.rho_eps, low=0, high=0.5, low_open=True)
        optim._check_antithetic(self.antithetic, self.pop)

    _optimizer = optim.EC

    def _optimizer_params(self):
        return {"learning_rate": self.learning_rate, "trust_region": self.trust_region,
                "rho_eps": self.rho_eps, "antithetic": self.antithetic}


class ESSearch(BaseSearch):
    __doc__ = """Gaussian evolution strategies on the real-valued spiking network.

    Antithetic pairs ``mu +/- sigma * eps``; AdamW on the rank-based gradient estimate.
    ``pop`` must be even.

    Parameters
    ----------
    sigma : float, default=0.3
        Standard deviation of the weight noise, in ``(0, 1e6]``.
    learning_rate : float, default=0.15
        AdamW step size, in ``(0, 1e6]``.
    weight_decay : float, default=0.1
        AdamW's decoupled weight decay, ``>= 0``; ``learning_rate * weight_decay`` must be at
        most 1 (each generation multiplies ``mu`` by ``1 - learning_rate * weight_decay``).
    """ + _POP_DOC + _COMMON_DOC

    def __init__(self, pop=64, n_generations=None, *, sigma=0.3, learning_rate=0.15,
                 weight_decay=0.1, total_timesteps=None, max_time=None, reward_offset="auto",
                 offset_schedule="survival", eval_every="auto", eval_episodes=5, n_episodes=1,
                 n_hidden=256, excitatory_ratio=0.5,
                 network_params=None, max_episode_steps=None, obs_clip=10.0, n_jobs=None,
                 random_state=None, verbose=0, warm_start=False, callbacks=None,
                 checkpoint_dir=None, checkpoint_every=10, max_retries=2,
                 generation_timeout=None):
        _store_params(self, locals())

    def _validate_strategy_params(self):
        _check_param("sigma", self.sigma, low=0, low_open=True, high=MAX_ES_SCALE)
        _check_param("learning_rate", self.learning_rate, low=0, low_open=True,
                     high=MAX_ES_SCALE)
        _check_param("weight_decay", self.weight_decay, low=0)
        decay = self.learning_rate * self.weight_decay
        if decay > 1:  # mu <- (1 - decay) mu + step: past 1 the decay flips and grows mu
            raise ValueError(
                f"learning_rate * weight_decay must be <= 1 (each generation multiplies mu by "
                f"1 - learning_rate * weight_decay), got {self.learning_rate!r} * "
                f"{self.weight_decay!r} = {decay:g}; lower weight_decay.")
        if isinstance(self.pop, numbers.Integral) and self.pop % 2:
            raise ValueError(f"ESSearch uses antithetic pairs: pop must be even, got {self.pop}.")

    _optimizer = optim.ES

    def _optimizer_params(self):
        return {"sigma": self.sigma, "learning_rate": self.learning_rate,
                "weight_decay": self.weight_decay}


_ESTIMATORS = {cls.__name__: cls for cls in (SATRSearch, ECSearch, ESSearch)}


def _strategy_of(meta):
    """The search distribution of the estimator a checkpoint's meta describes."""
    cls = _ESTIMATORS.get(meta.get("estimator"))
    if cls is None:
        raise ValueError(f"unknown estimator {meta.get('estimator')!r}.")
    if not isinstance(meta.get("params"), dict):
        raise ValueError("the estimator's parameters are missing.")
    return cls(**meta["params"])._make_strategy()


_SIZE_FIELDS = ("n_in", "n_out", "n_hidden", "excitatory_ratio")


def _changed_constants(network: dict) -> dict:
    """The constants of a stored network that differ from today's NetworkConfig defaults."""
    defaults = {f.name: f.default for f in dataclasses.fields(NetworkConfig)}
    return {k: v for k, v in network.items()
            if k not in _SIZE_FIELDS and k in defaults and v != defaults[k]}


def _network_mismatch(config, stored) -> str:
    """An error message naming the settings where ``config`` differs from ``stored``."""
    diff = {f.name: (getattr(stored, f.name), getattr(config, f.name))
            for f in dataclasses.fields(NetworkConfig)
            if getattr(stored, f.name) != getattr(config, f.name)}
    sizes = [k for k in diff if k in _SIZE_FIELDS]
    if sizes:
        return ("the environment or the estimator's sizes do not match the checkpointed "
                "network: " + ", ".join(f"{k} {a} in the checkpoint, {b} here"
                                        for k, (a, b) in diff.items() if k in sizes) + ".")
    stored_params = {k: a for k, (a, b) in diff.items()}
    return ("the checkpointed network has other constants than this estimator's: "
            + ", ".join(f"{k}={a!r} in the checkpoint, {b!r} here" for k, (a, b) in diff.items())
            + f" (a default may have changed since the run began). Resume with "
            f"network_params={stored_params!r}, or with satrlearn.load_checkpoint(), which "
            "restores them.")


def load_checkpoint(directory, **overrides):
    """The estimator saved in ``directory`` (or a checkpoint file), fitted to its last generation.

    Call ``.resume()`` on it to finish the run; ``overrides`` change parameters such as
    ``n_jobs`` or ``verbose`` (not the search itself).

    Examples
    --------
    >>> est = load_checkpoint("runs/hopper")           # doctest: +SKIP
    >>> est.resume()                                   # doctest: +SKIP
    """
    meta, arrays = read_checkpoint(directory, _strategy_of)
    cls = _ESTIMATORS.get(meta.get("estimator"))
    if cls is None:
        raise ValueError(f"unknown estimator {meta.get('estimator')!r} in the checkpoint.")
    params = dict(meta["params"], random_state=meta["random_state"])
    # the network's constants as the run used them, also where a default has changed since
    # (k_in was 0.1 until 2026-12-04): the resumed run goes on with the same network
    constants = _changed_constants(meta["network"])
    if constants:
        params["network_params"] = {**constants, **(params.get("network_params") or {})}
    path = os.fspath(directory)
    params["checkpoint_dir"] = path if os.path.isdir(path) else os.path.dirname(path) or "."
    params.update(overrides)
    est = cls(**params)
    config = NetworkConfig.from_dict(meta["network"])
    est._restore(meta, arrays, config, ActionMap.from_dict(meta["action_space"]))
    return est
