"""Running networks in Gymnasium environments: env sources, lockstep rollouts, evaluation.

A worker keeps one environment per candidate slot for the life of its process and advances its
whole chunk of candidates in lockstep: one batched kernel call per environment step.
"""

from __future__ import annotations

import math
import pickle
import time
import uuid
import warnings

import gymnasium as gym
import numpy as np

from .normalization import Moments
from .policy import ActionMap, NetworkBatch

__all__ = ["EnvSource", "RolloutError", "run_episodes", "evaluate_policy", "episode_stats"]

DEFAULT_MAX_EPISODE_STEPS = 1000


class RolloutError(RuntimeError):
    """An environment misbehaved during a rollout (non-finite values, an exception)."""


class EnvSource:
    """Builds environments from an id, an ``EnvSpec``, a factory or an instance.

    Workers rebuild environments from this description (never from a pickled live env).
    ``token`` identifies the source so that workers can cache what they built: for an id or
    a spec it is the same in every fit (so repeated fits, e.g. ``warm_start`` chunks, reuse the
    environments; each episode starts from an explicit seed, so reuse changes no result); for
    a factory or an instance it is new for every source.
    """

    def __init__(self, env, max_episode_steps=None, env_kwargs=None):
        self.env_kwargs = dict(env_kwargs or {})
        self.max_episode_steps = max_episode_steps
        self.instance = None
        self.token = uuid.uuid4().hex
        self._auto_limit = None  # decided once, at the first make (in the parent)
        if isinstance(env, str):
            self.kind, self.payload = "id", env
        elif isinstance(env, gym.envs.registration.EnvSpec):
            self.kind, self.payload = "spec", env
        elif isinstance(env, gym.Env):
            if env.spec is not None:
                self.kind, self.payload = "spec", env.spec
            else:
                self.kind, self.payload = "instance", None
            self.instance = env
        elif callable(env):
            self.kind, self.payload = "factory", env
        else:
            raise TypeError(
                f"env must be a Gymnasium id (str), an EnvSpec, a zero-argument factory or a "
                f"gymnasium.Env, got {type(env).__name__}.")
        if self.kind in ("id", "spec"):
            env_id = self.payload if self.kind == "id" else self.payload.id
            try:
                spec_text = "" if self.kind == "id" else self.payload.to_json()
            except Exception:  # kwargs that JSON cannot hold: no sharing across fits
                spec_text = self.token
            self.token = (f"{self.kind}:{env_id}:{max_episode_steps}:"
                          f"{sorted(self.env_kwargs.items())}:{spec_text}")

    def __getstate__(self):
        state = self.__dict__.copy()
        state["instance"] = None  # live envs never travel; workers rebuild
        return state

    def make(self) -> gym.Env:
        """A new environment (for the ``instance`` kind, the instance itself)."""
        if self.kind == "instance":
            if self.instance is None:
                raise RuntimeError("an environment instance without a spec cannot be rebuilt "
                                   "in a worker process.")
            env = self.instance
        else:
            try:
                if self.kind == "id":
                    env = gym.make(self.payload, **self.env_kwargs)
                elif self.kind == "spec":
                    env = gym.make(self.payload, **self.env_kwargs)
                else:
                    env = self.payload()
            except gym.error.Error as exc:
                raise ValueError(f"cannot make environment {self.describe()}: {exc}") from None
            if not isinstance(env, gym.Env):
                raise TypeError(
                    f"the env factory returned {type(env).__name__}, not a gymnasium.Env.")
        return self._limit(env)

    def _limit(self, env):
        limit = self.max_episode_steps
        if limit is None:
            if self._auto_limit is None:
                has_limit = (env.spec is not None and env.spec.max_episode_steps is not None) \
                    or _has_time_limit(env)
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

    def rebuildable(self) -> bool:
        """Whether worker processes can build this environment themselves."""
        if self.kind in ("id", "spec"):
            return True
        if self.kind == "factory":
            try:
                pickle.dumps(self.payload)
                return True
            except Exception:
                return False
        return False

    def describe(self) -> str:
        if self.kind == "id":
            return repr(self.payload)
        if self.kind == "spec":
            return repr(self.payload.id)
        if self.kind == "factory":
            return f"factory {getattr(self.payload, '__name__', repr(self.payload))}"
        return f"instance {type(self.instance).__name__}"


def _has_time_limit(env) -> bool:
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.TimeLimit):
            return True
        env = env.env
    return False


# one process-wide cache: token -> list of environments (one per candidate slot)
_ENV_CACHE: dict[str, list] = {}


def cached_envs(source: EnvSource, n: int) -> list:
    """At least ``n`` environments of ``source`` kept for this process (one for an instance)."""
    if source.token not in _ENV_CACHE:
        for envs in _ENV_CACHE.values():  # one source at a time: free the last fit's envs
            for env in envs:
                if source.kind != "instance":
                    env.close()
        _ENV_CACHE.clear()
        _ENV_CACHE[source.token] = []
    envs = _ENV_CACHE[source.token]
    limit = 1 if source.kind == "instance" else n
    while len(envs) < limit:
        envs.append(source.make())
    return envs


def _who(label) -> str:
    """``candidate 3`` for a numbered candidate; a named network (a string) as it is."""
    return label if isinstance(label, str) else f"candidate {label}"


def _check_finite(value, what, index, episode, step):
    if not np.all(np.isfinite(value)):
        raise RolloutError(
            f"{_who(index)}, episode {episode}, step {step}: the environment returned a "
            f"non-finite {what} ({value!r}). The distribution was not updated; fix the "
            "environment or wrap it to sanitise its output.")


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
    for g0 in range(0, k_total, width):
        rows = np.arange(g0, min(g0 + width, k_total))
        k = len(rows)
        net = NetworkBatch(config, params[rows])
        obs = np.zeros((k, n_in))
        ep = np.zeros(k, dtype=np.int64)
        steps = np.zeros(k, dtype=np.int64)
        active = np.ones(k, dtype=bool)

        def start(q):
            env = envs[q]
            o, _ = _env_call(env.reset, labels[rows[q]], ep[q], 0,
                             seed=int(seed_rows[rows[q], ep[q]]))
            o = np.asarray(o, dtype=np.float64).reshape(-1)
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
            d = np.where(active[:, None], obs - shift, 0.0)
            obs_sum[rows] += d
            obs_sq[rows] += d * d
            actions = action_map(net.step(normalizer(obs), active))
            for q in np.flatnonzero(active):
                i = rows[q]
                o, r, term, trunc, _ = _env_call(envs[q].step, labels[i], ep[q], steps[q] + 1,
                                                 actions[q])
                steps[q] += 1
                lengths[i] += 1
                r = float(r)
                if not math.isfinite(r):
                    _check_finite(r, "reward", labels[i], ep[q], steps[q])
                returns[i] += r
                if term or trunc:
                    ep[q] += 1
                    episodes[i] += 1
                    if ep[q] < n_ep:
                        start(q)
                    else:
                        active[q] = False
                else:
                    o = np.asarray(o, dtype=np.float64).reshape(-1)
                    if o.shape[0] != n_in:
                        _check_obs(o, n_in, labels[i], ep[q], steps[q])
                    obs[q] = o
            bad = ~np.isfinite(obs).all(axis=1)  # one vectorised check for the whole batch
            if bad.any():
                q = int(np.flatnonzero(bad)[0])
                _check_obs(obs[q], n_in, labels[rows[q]], ep[q], steps[q])
    return {"returns": returns / n_ep, "lengths": lengths, "episodes": episodes,
            "obs_sum": obs_sum, "obs_sqsum": obs_sq, "obs_shift": shift}


def _check_obs(o, n_in, label, episode, step):
    if o.shape[0] != n_in:
        raise RolloutError(
            f"{_who(label)}, episode {episode}, step {step}: observation has {o.shape[0]} "
            f"values, the observation space promised {n_in}.")
    _check_finite(o, "observation", label, episode, step)


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


def evaluate_policy(policy, env, n_episodes=10, seed=None):
    """Mean and per-episode returns of ``policy`` on ``env`` (id, spec, factory or instance).

    The returns are the environment's own rewards, summed over each fresh episode.
    """
    stats = episode_stats(policy, env, n_episodes=n_episodes, seed=seed)
    return float(np.mean(stats["returns"])), stats["returns"]


def episode_stats(policy, env, n_episodes=10, seed=None) -> dict:
    """Run ``policy`` for ``n_episodes`` fresh episodes and describe each one.

    Returns
    -------
    dict of arrays (n_episodes,)
        ``returns`` (true, undiscounted), ``lengths`` (steps) and ``distances``: how far the
        body moved along x (``info["x_position"]`` at the end less at reset, as Gymnasium's
        MuJoCo locomotion tasks report it; NaN for environments that do not). The distance
        tells a policy that travels from one that stands still with the same return.
    """
    source = env if isinstance(env, EnvSource) else EnvSource(env)
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, (int, np.integer)) \
            or n_episodes < 1:
        raise ValueError(f"n_episodes must be a positive integer, got {n_episodes!r}.")
    e = source.make()
    check_spaces(e, policy.config.n_in, policy.action_map)
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31 - 1, size=n_episodes)
    returns, lengths, distances = [], [], []
    try:
        for s in seeds:
            obs, info = e.reset(seed=int(s))
            x0 = _x_position(info)
            policy.reset(seed=int(s))
            total, steps, done = 0.0, 0, False
            while not done:
                obs, r, term, trunc, info = e.step(policy(np.asarray(obs).reshape(-1)))
                total += float(r)
                steps += 1
                done = term or trunc
            returns.append(total)
            lengths.append(steps)
            distances.append(_x_position(info) - x0)
    finally:
        if source.kind != "instance":
            e.close()
    return {"returns": np.asarray(returns), "lengths": np.asarray(lengths),
            "distances": np.asarray(distances)}


def _x_position(info) -> float:
    try:
        return float(info["x_position"])
    except (KeyError, TypeError, ValueError):
        return math.nan


def check_spaces(env, n_in, action_map):
    """Raise a clear error when ``env`` does not match a network's input and output sizes."""
    obs_space = env.observation_space
    if not isinstance(obs_space, gym.spaces.Box):
        raise TypeError(
            f"unsupported observation space {obs_space!r}: satrlearn needs a Box. Wrap the "
            "environment, e.g. gymnasium.wrappers.FlattenObservation for Dict/Tuple spaces.")
    size = int(math.prod(obs_space.shape))
    if size != n_in:
        raise ValueError(f"the environment has {size} observations, the policy expects {n_in}.")
    other = ActionMap(env.action_space)
    if other.n_out != action_map.n_out or other.kind != action_map.kind:
        raise ValueError(
            f"the environment's action space {env.action_space} does not match the policy's "
            f"{action_map.space}.")
