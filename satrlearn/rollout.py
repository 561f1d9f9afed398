"""Running networks in Gymnasium environments: env sources, lockstep rollouts, evaluation.

A worker keeps one environment per candidate slot (in each of its threads) from one fit to the
next on the same source, and advances its whole chunk of candidates in lockstep: one batched
kernel call per environment step.
"""

from __future__ import annotations

import contextlib
import json
import math
import pickle
import threading
import time
import uuid
import warnings
from collections.abc import Mapping

import gymnasium as gym
import numpy as np

from ._kernels import lockstep_inputs
from .normalization import Moments, ObservationNormalizer
from .engine import ActionMap, NetworkBatch

__all__ = ["EnvSource", "RolloutError", "episode_stats", "evaluate_policy", "run_episodes"]

DEFAULT_MAX_EPISODE_STEPS = 1000


def _warn_from_mujoco(message):
    warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)


@contextlib.contextmanager
def mujoco_warnings():
    """MuJoCo's own warnings as Python ``RuntimeWarning`` while the block runs.

    MuJoCo prints its warnings (for instance a deprecated attribute in an environment's model
    file, as in HalfCheetah-v5's) to stderr and appends them to a ``MUJOCO_LOG.TXT`` in the
    working folder, once for every environment built, in every worker. As Python warnings
    they show once per process and message and can be filtered with :mod:`warnings`. The
    previous handler is restored on exit; without MuJoCo this does nothing.
    """
    try:
        import mujoco
    except ImportError:  # pragma: no cover - MuJoCo is a dependency
        yield
        return
    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(_warn_from_mujoco)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)


def make_env(env_id, **kwargs):
    """``gymnasium.make(env_id, **kwargs)`` with MuJoCo's warnings as Python warnings (see
    :func:`mujoco_warnings`): how every satrlearn tool builds an environment from an id."""
    with mujoco_warnings():
        return gym.make(env_id, **kwargs)


class RolloutError(RuntimeError):
    """An environment misbehaved during a rollout (non-finite values, an exception)."""


class EnvSource:
    """Builds environments from an id, an ``EnvSpec``, a factory or an instance.

    Parameters
    ----------
    env : str, EnvSpec, callable or gymnasium.Env
        A registered id, a spec, a zero-argument factory returning an environment, or an
        environment instance.
    max_episode_steps : int, optional
        Cut episodes at this many steps (default: the environment's own time limit, or
        :data:`DEFAULT_MAX_EPISODE_STEPS` with a warning when it has none).
    env_kwargs : dict, optional
        Keyword arguments of ``gymnasium.make`` for an id or a spec.

    Notes
    -----
    An instance is used as it is, in this process: every attribute and wrapper the user gave
    it is kept, and satrlearn never closes it. Worker processes (and threads) build their own
    environments from this description, never from a pickled live env: ``gymnasium.make`` of
    the id or spec, a call of the factory, or, for an instance, ``gymnasium.make`` of its
    spec. :meth:`prepare_for_workers` refuses an instance that its spec does not rebuild
    (no spec, or a wrapper stack that ``gymnasium.make(env.spec)`` does not reproduce).

    ``token`` identifies the source so that each thread can cache what it built: for an id or
    a spec it is the same in every fit (so repeated fits, e.g. ``warm_start`` chunks, reuse the
    environments; each episode starts from an explicit seed, so reuse changes no result); for
    a factory or an instance it is new for every source.
    """

    def __init__(self, env, max_episode_steps=None, env_kwargs=None):
        self.max_episode_steps = max_episode_steps
        self.instance = None
        self.in_workers = False  # set by prepare_for_workers: build anew, never borrow
        self.token = uuid.uuid4().hex
        self._auto_limit = None  # decided once, at the first make (in the parent)
        if isinstance(env, str):
            self.kind, self.payload = "id", env
        elif isinstance(env, gym.envs.registration.EnvSpec):
            self.kind, self.payload = "spec", env
        elif isinstance(env, gym.Env):
            # the payload is the spec that worker processes may rebuild it from
            self.kind, self.payload = "instance", env.spec
            self.instance = env
        elif callable(env):
            self.kind, self.payload = "factory", env
        else:
            raise TypeError(
                f"env must be a Gymnasium id (str), an EnvSpec, a zero-argument factory or a "
                f"gymnasium.Env, got {type(env).__name__}.")
        self._name = self._describe_new(env)
        self.env_kwargs = _check_env_kwargs(env_kwargs, self.kind)
        if self.kind in ("id", "spec"):
            self.token = self._shared_token() or self.token

    def _shared_token(self):
        """A token equal for equal ids or specs in every fit; None when JSON cannot hold the
        kwargs exactly (then the source is not shared across fits)."""
        env_id = self.payload if self.kind == "id" else self.payload.id
        try:
            spec_text = "" if self.kind == "id" else self.payload.to_json()
            return json.dumps([self.kind, env_id, self.max_episode_steps, self.env_kwargs,
                               spec_text], sort_keys=True, allow_nan=False)
        except (TypeError, ValueError):
            return None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["instance"] = None  # live envs never travel; workers rebuild
        return state

    @property
    def borrows(self) -> bool:
        """Whether :meth:`make` hands back the user's own instance (never closed here)."""
        return self.kind == "instance" and self.instance is not None and not self.in_workers

    @property
    def env_id(self):
        """The registered id that ``gymnasium.make(env_id, **env_kwargs)`` turns into this
        environment, or None (a factory, an instance, a spec that differs from the registered
        one)."""
        if self.kind == "id":
            return self.payload
        if self.kind == "spec":
            try:
                registered = gym.spec(self.payload.id)
            except gym.error.Error:
                return None
            return self.payload.id if registered == self.payload else None
        return None

    def prepare_for_workers(self, dumps=pickle.dumps):
        """Make every later :meth:`make` build a new environment, for workers to run.

        Parameters
        ----------
        dumps : callable or None
            The function the parallel backend pickles task arguments with (None when the
            tasks run in threads of this process).

        Raises
        ------
        ValueError
            When the workers cannot build the environment: an instance that its spec does
            not rebuild, or a source that ``dumps`` cannot pickle. The message says what to
            pass instead.
        """
        if self.kind == "instance":
            self._check_rebuild()
        if dumps is not None:
            try:
                dumps(self)
            except Exception as exc:
                what = ("env_kwargs" if self.kind in ("id", "spec") and self.env_kwargs
                        else "it")
                raise ValueError(
                    f"the environment {self.describe()} cannot be sent to worker processes: "
                    f"pickling {what} failed ({type(exc).__name__}: {exc}). Pass a factory "
                    "defined at module level (a function or functools.partial), or use "
                    "n_jobs=1.") from None
        if self.kind == "instance":
            warnings.warn(
                f"worker processes rebuild the environment {self.describe()} with "
                "gymnasium.make(env.spec): changes made to the instance after it was made "
                "(attributes set by hand) are not seen there. Pass a factory that makes them, "
                "or use n_jobs=1 to run the instance itself.", UserWarning, stacklevel=4)
        self.in_workers = True

    def _check_rebuild(self):
        """Raise ValueError unless ``gymnasium.make(spec)`` rebuilds the instance's stack."""
        fix = ("Pass a factory that builds it (a function or functools.partial defined at "
               "module level), or use n_jobs=1 to run the instance itself in this process.")
        if self.payload is None:
            raise ValueError(
                f"the environment {self.describe()} has no spec, so it cannot be rebuilt in "
                f"worker processes. {fix}")
        try:
            with mujoco_warnings():
                copy = gym.make(self.payload)
        except Exception as exc:
            raise ValueError(
                f"the environment {self.describe()} cannot be rebuilt in worker processes from "
                f"its spec ({type(exc).__name__}: {exc}). {fix}") from None
        try:
            given, rebuilt = _layers(self.instance), _layers(copy)
        finally:
            copy.close()
        if given != rebuilt:
            def names(layers):
                return " > ".join(c.__qualname__ for c in layers)
            raise ValueError(
                f"the environment {self.describe()} cannot be rebuilt faithfully in worker "
                f"processes: gymnasium.make(env.spec) gives {names(rebuilt)}, not "
                f"{names(given)}. {fix}")

    def make(self) -> gym.Env:
        """A new environment (the instance itself when :attr:`borrows`)."""
        if self.borrows:
            return self._limit(self.instance)
        if self.kind == "instance" and self.payload is None:
            raise RuntimeError(f"the environment {self.describe()} has no spec; it cannot be "
                               "rebuilt in a worker.")
        with mujoco_warnings():
            return self._limit(self._build())

    def _build(self) -> gym.Env:
        """The factory's environment, or ``gymnasium.make`` of the id or spec."""
        if self.kind == "factory":
            env = self.payload()
            if not isinstance(env, gym.Env):
                raise TypeError(
                    f"the env factory returned {type(env).__name__}, not a gymnasium.Env.")
            return env
        try:
            return gym.make(self.payload, **self.env_kwargs)
        except gym.error.Error as exc:
            raise ValueError(f"cannot make environment {self.describe()}"
                             f"{self._with_kwargs()}: {exc}") from None
        except TypeError as exc:
            if not self.env_kwargs:
                raise
            raise TypeError(f"cannot make environment {self.describe()}"
                            f"{self._with_kwargs()}: {exc}. Check the names in "
                            "env_kwargs against the environment's arguments.") from None

    def _with_kwargs(self) -> str:
        return f" with env_kwargs={self.env_kwargs!r}" if self.env_kwargs else ""

    def _limit(self, env):
        limit = self.max_episode_steps
        if limit is None:
            if self._auto_limit is None:
                has_limit = episode_limit(env) is not None
                self._auto_limit = 0 if has_limit else DEFAULT_MAX_EPISODE_STEPS
                if not has_limit:
                    warnings.warn(
                        f"environment {self.describe()} has no time limit; episodes are cut at "
                        f"{DEFAULT_MAX_EPISODE_STEPS} steps. Pass max_episode_steps to choose "
                        "another.", stacklevel=4)
            limit = self._auto_limit or None
        if limit is not None:
            return gym.wrappers.TimeLimit(env, max_episode_steps=int(limit))
        return env

    @staticmethod
    def _describe_new(env) -> str:
        if isinstance(env, str):
            return repr(env)
        if isinstance(env, gym.envs.registration.EnvSpec):
            return repr(env.id)
        if isinstance(env, gym.Env):
            return f"instance {env}"  # its wrapper stack, e.g. TimeLimit<...<CartPoleEnv<...>>>
        return f"factory {getattr(env, '__name__', repr(env))}"

    def describe(self) -> str:
        """The source in words, for messages: ``'CartPole-v1'``, ``factory make_env``..."""
        return self._name


def _check_env_kwargs(env_kwargs, kind) -> dict:
    """A copy of ``env_kwargs``; a clear error when it is not a dict of names or not allowed."""
    if env_kwargs is None:
        return {}
    if not isinstance(env_kwargs, Mapping):
        raise TypeError(f"env_kwargs must be a dict of gymnasium.make keyword arguments, got "
                        f"{env_kwargs!r} ({type(env_kwargs).__name__}).")
    bad = [k for k in env_kwargs if not isinstance(k, str)]
    if bad:
        raise TypeError(f"env_kwargs keys must be argument names (str), got {bad[0]!r}.")
    if env_kwargs and kind not in ("id", "spec"):
        raise ValueError(
            f"env_kwargs applies to an environment id or an EnvSpec only, not to a {kind}: "
            + ("build the instance with these arguments, or pass its id with env_kwargs."
               if kind == "instance" else
               "give the factory its arguments, e.g. functools.partial(make_env, **kwargs)."))
    return dict(env_kwargs)


def _layers(env) -> list:
    """The classes of ``env``'s wrapper stack, outermost first, then the unwrapped env's."""
    layers = []
    while isinstance(env, gym.Wrapper):
        layers.append(type(env))
        env = env.env
    layers.append(type(env))
    return layers


def episode_limit(env):
    """The step limit of the outermost ``TimeLimit`` in ``env``'s wrapper stack (or of its
    spec), or None when it has none."""
    probe = env
    while isinstance(probe, gym.Wrapper):
        if isinstance(probe, gym.wrappers.TimeLimit):
            return int(probe._max_episode_steps)
        probe = probe.env
    spec = getattr(env, "spec", None)
    limit = getattr(spec, "max_episode_steps", None)
    return None if limit is None else int(limit)


# One cache per thread (tasks that run in threads of one process, as on a dask worker, must not
# share environments): (thread ident, source token) -> environments, one per candidate slot.
_ENV_CACHE: dict[tuple, list] = {}
# keys whose environment is the user's own instance: satrlearn never closes those
_BORROWED: set = set()
_CACHE_LOCK = threading.Lock()


def cached_envs(source: EnvSource, n: int) -> list:
    """At least ``n`` environments of ``source`` kept for this thread.

    When the source :attr:`~EnvSource.borrows` the user's instance, the one environment is
    that instance. A thread keeps one source at a time: asking for another drops its cached
    environments, and those of threads that have ended, closing the ones satrlearn built
    (whoever built an environment closes it; a user's instance is never closed here).
    """
    me = threading.get_ident()
    key = (me, source.token)
    dropped = []
    with _CACHE_LOCK:
        envs = _ENV_CACHE.get(key)
        if envs is None:
            alive = {t.ident for t in threading.enumerate()}
            for k in [k for k in _ENV_CACHE if k[0] == me or k[0] not in alive]:
                envs_k = _ENV_CACHE.pop(k)
                if k in _BORROWED:
                    _BORROWED.discard(k)
                else:
                    dropped.extend(envs_k)
            envs = _ENV_CACHE[key] = []
            if source.borrows:
                _BORROWED.add(key)
    _close_all(dropped)
    limit = 1 if source.borrows else n
    while len(envs) < limit:
        env = source.make()
        if any(env.unwrapped is e.unwrapped for e in envs):
            raise ValueError(
                f"the environment {source.describe()} returned the same environment object "
                "twice; candidates need one each. A factory must build a new environment at "
                "every call; to run one instance, pass the instance itself with n_jobs=1.")
        envs.append(env)
    return envs


def release_envs() -> None:
    """Drop every cached environment, closing those satrlearn built (never a user's own)."""
    with _CACHE_LOCK:
        dropped = [e for k, envs in _ENV_CACHE.items() if k not in _BORROWED for e in envs]
        _ENV_CACHE.clear()
        _BORROWED.clear()
    _close_all(dropped)


def _close_all(envs):
    for env in envs:
        try:
            env.close()
        except Exception as exc:  # a failing close must not stop the next fit
            warnings.warn(f"closing a cached environment raised {type(exc).__name__}: {exc}",
                          RuntimeWarning, stacklevel=3)


def _who(label) -> str:
    """``candidate 3`` for a numbered candidate; a named network (a string) as it is."""
    return label if isinstance(label, str) else f"candidate {label}"


#: What a rollout error during a fit adds: the search is left as it was.
FIT_NOTE = "The distribution was not updated; fix"
#: What it adds when a trained policy is run (score, evaluate_policy).
RUN_NOTE = "Fix"


def _check_finite(value, what, index, episode, step, note=FIT_NOTE):
    if not np.all(np.isfinite(value)):
        raise RolloutError(
            f"{_who(index)}, episode {episode}, step {step}: the environment returned a "
            f"non-finite {what} ({value!r}). {note} the environment or wrap it to sanitise its "
            "output.")


def _reward(r, label, episode, step, note=FIT_NOTE) -> float:
    """A step's reward as a float; a RolloutError when it is not a finite real number."""
    if type(r) is not float:  # the usual case costs one type check
        if np.iscomplexobj(r) or np.ndim(r) != 0:
            raise RolloutError(
                f"{_who(label)}, episode {episode}, step {step}: the environment returned a "
                f"reward that is not one real number ({r!r}). {note} the environment or wrap "
                "it to return a float.")
        r = float(r)
    if not math.isfinite(r):
        _check_finite(r, "reward", label, episode, step, note)
    return r


def _obs_vector(o, label, episode, step, note=FIT_NOTE) -> np.ndarray:
    """An observation as a flat float64 vector; a RolloutError when it is not real numbers."""
    a = np.asarray(o)
    if a.dtype.kind not in "biuf":  # complex parts or objects would be lost in the cast
        raise RolloutError(
            f"{_who(label)}, episode {episode}, step {step}: the environment returned an "
            f"observation of dtype {a.dtype}; satrlearn needs real numbers. {note} the "
            "environment or wrap it (gymnasium.wrappers.TransformObservation) to return real "
            "values, e.g. the real and imaginary parts side by side.")
    return a.astype(np.float64, copy=False).reshape(-1)


def run_episodes(config, params, action_map: ActionMap, normalizer, envs, episode_seeds,
                 membrane_rngs, labels=None, obs_shift=None, deadline=None):
    """Run ``K`` networks for ``len(episode_seeds)`` episodes each, in lockstep over ``envs``.

    Parameters
    ----------
    params : ndarray (K, n_params)
    envs : list of environments; candidates run in groups of ``len(envs)``.
    episode_seeds : sequence of int, the env reset seed of each episode, shared by the
        candidates (common random numbers); or an array ``(K, n_episodes)``, one row per
        candidate (fresh episodes for each, as an evaluation of one network wants).
    membrane_rngs : list of K generators for the initial membrane potentials.
    labels : candidate numbers used in error messages.
    obs_shift : the frozen normaliser mean, subtracted before summing moments (stability).
    deadline : wall-clock time (``time.time()``) after which a ``TimeoutError`` is raised.

    Returns
    -------
    dict with ``returns`` (K,) mean episode return, ``lengths`` (K,) total steps,
    ``episodes`` (K,), ``obs_sum``/``obs_sqsum`` (K, n_in) shifted sums, ``obs_shift``.
    """
    k_total = params.shape[0]
    n_in = config.n_in
    seed_rows = np.asarray(episode_seeds, dtype=np.int64)
    if seed_rows.ndim == 1:
        seed_rows = np.broadcast_to(seed_rows, (k_total, seed_rows.shape[0]))
    n_ep = seed_rows.shape[1]
    labels = np.arange(k_total) if labels is None else np.asarray(labels)
    shift = np.zeros(n_in) if obs_shift is None else np.asarray(obs_shift, dtype=np.float64)
    returns = np.zeros(k_total)
    lengths = np.zeros(k_total, dtype=np.int64)
    episodes = np.zeros(k_total, dtype=np.int64)
    obs_sum = np.zeros((k_total, n_in))
    obs_sq = np.zeros((k_total, n_in))
    width = len(envs)
    if not (isinstance(normalizer, ObservationNormalizer)
            and normalizer.mean.shape == normalizer.scale.shape == (n_in,)):
        raise ValueError(f"run_episodes needs an ObservationNormalizer of {n_in} inputs, got "
                         f"{normalizer!r}.")
    for g0 in range(0, k_total, width):
        rows = np.arange(g0, min(g0 + width, k_total))
        k = len(rows)
        net = NetworkBatch(config, params[rows])
        obs = np.zeros((k, n_in))
        ep = np.zeros(k, dtype=np.int64)
        steps = np.zeros(k, dtype=np.int64)
        active = np.ones(k, dtype=bool)
        x = np.zeros((k, n_in))

        def start(q):
            env = envs[q]
            o, _ = _env_call(env.reset, labels[rows[q]], ep[q], 0,
                             seed=int(seed_rows[rows[q], ep[q]]))
            o = _obs_vector(o, labels[rows[q]], ep[q], 0)
            _check_obs(o, n_in, labels[rows[q]], ep[q], 0)
            obs[q] = o
            steps[q] = 0
            net.reset([q], [membrane_rngs[rows[q]].integers(2**63)])

        for q in range(k):
            start(q)
        while active.any():
            if deadline is not None and time.time() > deadline:
                raise TimeoutError(
                    f"{_who(labels[rows[0]])}..{labels[rows[-1]]} passed the generation's "
                    "time limit.")
            # moments, normalisation and the finiteness check in one compiled pass (in numpy
            # they cost ~30 us per lockstep iteration)
            bad = lockstep_inputs(obs, active, shift, normalizer.mean, normalizer.scale,
                                  normalizer.clip, obs_sum[g0:g0 + k], obs_sq[g0:g0 + k], x)
            if bad >= 0:
                _check_obs(obs[bad], n_in, labels[rows[bad]], ep[bad], steps[bad])
            actions = action_map(net._step(x, active))
            for q in np.flatnonzero(active):
                i = rows[q]
                o, r, term, trunc, _ = _env_call(envs[q].step, labels[i], ep[q], steps[q] + 1,
                                                 actions[q])
                steps[q] += 1
                lengths[i] += 1
                returns[i] += _reward(r, labels[i], ep[q], steps[q])
                if term or trunc:
                    ep[q] += 1
                    episodes[i] += 1
                    if ep[q] < n_ep:
                        start(q)
                    else:
                        active[q] = False
                else:
                    o = _obs_vector(o, labels[i], ep[q], steps[q])
                    if o.shape[0] != n_in:
                        _check_obs(o, n_in, labels[i], ep[q], steps[q])
                    obs[q] = o
    return {"returns": returns / n_ep, "lengths": lengths, "episodes": episodes,
            "obs_sum": obs_sum, "obs_sqsum": obs_sq, "obs_shift": shift}


def _check_obs(o, n_in, label, episode, step, note=FIT_NOTE):
    if o.shape[0] != n_in:
        raise RolloutError(
            f"{_who(label)}, episode {episode}, step {step}: observation has {o.shape[0]} "
            f"values, the observation space promised {n_in}.")
    _check_finite(o, "observation", label, episode, step, note)


def _env_call(fn, label, episode, step, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except RolloutError:
        raise
    except Exception as exc:
        raise RolloutError(
            f"{_who(label)}, episode {episode}, step {step}: the environment raised "
            f"{type(exc).__name__}: {exc}") from exc


def moments_of(result, index) -> Moments:
    """Observation moments of candidate ``index`` from a :func:`run_episodes` result."""
    n = float(result["lengths"][index] + 0)
    s = result["obs_sum"][index]
    sq = result["obs_sqsum"][index]
    # steps fed to the network == env steps (one observation per action)
    if n == 0:
        return Moments(s.shape[0])
    mean_shifted = s / n
    m2 = np.maximum(sq - n * mean_shifted ** 2, 0.0)
    return Moments(s.shape[0], n, mean_shifted + result["obs_shift"], m2)


def evaluate_policy(policy, env, n_episodes=10, seed=None, *, env_kwargs=None):
    """Mean and per-episode returns of ``policy`` on ``env`` (id, spec, factory or instance).

    The returns are the environment's own rewards, summed over each fresh episode. The
    parameters are those of :func:`episode_stats`.
    """
    stats = episode_stats(policy, env, n_episodes=n_episodes, seed=seed, env_kwargs=env_kwargs)
    return float(np.mean(stats["returns"])), stats["returns"]


def episode_stats(policy, env, n_episodes=10, seed=None, *, env_kwargs=None) -> dict:
    """Run ``policy`` for ``n_episodes`` fresh episodes and describe each one.

    Parameters
    ----------
    policy : RSNNPolicy
    env : str, EnvSpec, callable or gymnasium.Env
        An id, a spec, a zero-argument factory or an instance. An instance is used as it is
        and left open; environments built here are closed at the end.
    n_episodes : int, default=10
    seed : int >= 0, numpy Generator or None
        Determines the episode seeds and the initial membrane states.
    env_kwargs : dict, optional
        Keyword arguments of ``gymnasium.make`` for an id or a spec.

    Returns
    -------
    dict of arrays (n_episodes,)
        ``returns`` (true, undiscounted), ``lengths`` (steps) and ``distances``: how far the
        body moved along x (``info["x_position"]`` at the end less at reset, as Gymnasium's
        MuJoCo locomotion tasks report it; NaN for environments that do not). The distance
        tells a policy that travels from one that stands still with the same return.

    Raises
    ------
    RolloutError
        When the environment returns a non-finite or non-real observation or reward, an
        observation of the wrong size, or raises; the message names the episode and step.
    """
    if isinstance(env, EnvSource):
        if env_kwargs is not None:
            raise ValueError("env_kwargs goes to the EnvSource, not to episode_stats.")
        source = env
    else:
        source = EnvSource(env, env_kwargs=env_kwargs)
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, (int, np.integer)) \
            or n_episodes < 1:
        raise ValueError(f"n_episodes must be a positive integer, got {n_episodes!r}.")
    rng = _check_seed(seed, "seed")
    seeds = rng.integers(0, 2**31 - 1, size=n_episodes)
    e = source.make()
    label, note = "the policy", RUN_NOTE
    returns, lengths, distances = [], [], []
    try:
        n_in = policy.config.n_in
        check_spaces(e, n_in, policy.action_map)
        for ep, s in enumerate(seeds):
            obs, info = _env_call(e.reset, label, ep, 0, seed=int(s))
            obs = _obs_vector(obs, label, ep, 0, note)
            _check_obs(obs, n_in, label, ep, 0, note)
            x0 = _x_position(info)
            policy.reset(seed=int(s))
            total, steps, done = 0.0, 0, False
            while not done:
                steps += 1
                obs, r, term, trunc, info = _env_call(e.step, label, ep, steps, policy(obs))
                total += _reward(r, label, ep, steps, note)
                done = term or trunc
                if not done:
                    obs = _obs_vector(obs, label, ep, steps, note)
                    _check_obs(obs, n_in, label, ep, steps, note)
            returns.append(total)
            lengths.append(steps)
            distances.append(_x_position(info) - x0)
    finally:
        if not source.borrows:  # whoever built an environment closes it
            e.close()
    return {"returns": np.asarray(returns), "lengths": np.asarray(lengths),
            "distances": np.asarray(distances)}


def _check_seed(seed, name) -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, with an error naming ``name`` for a bad seed."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be None, an integer >= 0 or a numpy.random.Generator, "
                        f"got {seed!r} ({type(seed).__name__}); e.g. {name}=0.")
    if seed < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {seed!r}.")
    return np.random.default_rng(int(seed))


def _x_position(info) -> float:
    try:
        return float(info["x_position"])
    except (KeyError, TypeError, ValueError):
        return math.nan


def observation_size(space) -> int:
    """Values per observation of ``space``; a clear error for a space satrlearn cannot feed.

    A network reads a ``Box`` of real numbers (bool, integer or floating dtype), any shape,
    flattened.
    """
    if not isinstance(space, gym.spaces.Box):
        raise TypeError(
            f"unsupported observation space {space!r}: satrlearn needs a Box. Wrap the "
            "environment, e.g. gymnasium.wrappers.FlattenObservation for Dict/Tuple spaces.")
    dtype = np.dtype(space.dtype)
    if dtype.kind not in "biuf":
        raise TypeError(
            f"unsupported observation dtype {dtype} in {space!r}: satrlearn needs real numbers "
            "(bool, integer or floating). Wrap the environment "
            "(gymnasium.wrappers.TransformObservation) to return real values, e.g. the real "
            "and imaginary parts side by side.")
    size = int(math.prod(space.shape))
    if size < 1:
        raise ValueError(f"the observation space {space!r} holds no values; a policy needs at "
                         "least one observation.")
    return size


def check_spaces(env, n_in, action_map):
    """Raise a clear error when ``env`` does not match a network's input and output sizes."""
    size = observation_size(env.observation_space)
    if size != n_in:
        raise ValueError(f"the environment has {size} observations, the policy expects {n_in}.")
    other = ActionMap(env.action_space)
    if other.n_out != action_map.n_out or other.kind != action_map.kind:
        raise ValueError(
            f"the environment's action space {env.action_space} does not match the policy's "
            f"{action_map.space}.")
