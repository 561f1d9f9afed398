"""Splitting a population over joblib workers; every seed is drawn in the parent.

A task carries the distribution once and the seeds of its chunk. The worker rebuilds its
candidates from their seeds, so results do not depend on how the population is split, nor on
the joblib backend that runs the tasks (processes on this machine, or a dask or ray cluster).

Workers only read what they are given: ray hands them read-only arrays from its object store,
and on dask one copy of the distribution is shared by every task of a generation that lands on
the same worker.
"""

from __future__ import annotations

import os
import pickle
import sys
import time

import numpy as np
from joblib import delayed, effective_n_jobs
from joblib._parallel_backends import MultiprocessingBackend, ThreadingBackend
from joblib.parallel import get_active_backend

from .rollout import cached_envs, run_episodes
from .strategies.base import candidate_streams

__all__ = ["evaluate_chunk", "evaluate_networks", "evaluate_population", "most_tasks",
           "n_chunks_for", "population_chunks", "runs_in_workers", "task_pickler",
           "worker_count"]

#: Chunks per worker for the evaluation episodes of :func:`evaluate_networks`: more than one
#: lets joblib hand the next chunk to whichever worker is free.
CHUNKS_PER_WORKER = int(os.environ.get("SATRLEARN_CHUNKS_PER_WORKER", "2"))


def n_chunks_for(n_jobs: int) -> int:
    """How many tasks the evaluation episodes are split into for ``n_jobs`` workers."""
    return 1 if n_jobs <= 1 else n_jobs * CHUNKS_PER_WORKER


def population_chunks(pop: int, n_jobs: int) -> list:
    """The candidates' spans ``(a, b)``, one per task, for ``n_jobs`` workers.

    Guided scheduling: each chunk takes ``1 / (2 n_jobs)`` of the candidates still left, but
    at least ``pop / (8 n_jobs)``, so the sizes shrink along the queue. Early
    generations' episode lengths vary several-fold between candidates, so a chunk's duration
    is hard to foresee; large chunks first keep the lockstep batches wide, and small ones
    last let the workers finish together instead of one waiting for the other's last big
    chunk. Results do not depend on the split (every candidate is rebuilt from its seed).

    Examples
    --------
    >>> population_chunks(64, 2)
    [(0, 16), (16, 28), (28, 37), (37, 44), (44, 49), (49, 53), (53, 57), (57, 61), (61, 64)]
    >>> population_chunks(64, 1)
    [(0, 64)]
    """
    pop, n_jobs = int(pop), int(n_jobs)
    if n_jobs <= 1 or pop <= 1:
        return [(0, pop)]
    smallest = -(-pop // (8 * n_jobs))
    spans, a = [], 0
    while a < pop:
        size = max(smallest, -(-(pop - a) // (2 * n_jobs)))
        spans.append((a, min(pop, a + size)))
        a = spans[-1][1]
    return spans


def most_tasks(pop: int, eval_episodes: int = 0) -> int:
    """The most tasks one call of ``parallel`` makes in a generation, whatever ``n_jobs``.

    :func:`evaluate_population` makes at most one task per candidate, plus one for the
    deterministic network; :func:`evaluate_networks` at most one per episode of each of its two
    networks (``eval_episodes`` 0 when there is no evaluation). More workers than this would
    only sit idle.
    """
    return max(int(pop) + 1, 2 * int(eval_episodes))


def worker_count(n_jobs, n_tasks: int):
    """The ``n_jobs`` to start ``Parallel`` with: ``n_jobs`` itself, or ``n_tasks`` when it
    would start more workers than there are tasks (``n_jobs=1000`` for a population of 8)."""
    return n_tasks if effective_n_jobs(n_jobs) > n_tasks else n_jobs


def task_pickler():
    """How the active joblib backend sends task arguments to its workers.

    Returns the ``dumps`` it uses: cloudpickle for loky (the default), dask and ray, which ship
    lambdas and closures by value; the standard pickle for the ``multiprocessing`` backend.
    None when the tasks run in threads of this process (nothing is pickled).
    """
    backend = get_active_backend()[0]
    if isinstance(backend, ThreadingBackend):
        return None
    if type(backend) is MultiprocessingBackend:  # ray's backend subclasses it, uses cloudpickle
        return pickle.dumps
    return _cloudpickle_dumps()


def _cloudpickle_dumps():
    """``cloudpickle.dumps`` (a joblib dependency, vendored by older joblib releases)."""
    try:
        import cloudpickle
    except ImportError:
        try:
            from joblib.externals import cloudpickle
        except ImportError:  # loky then falls back to the standard pickle too
            return pickle.dumps
    return cloudpickle.dumps


def evaluate_chunk(strategy, dist, seeds, signs, labels, source, config, action_map,
                   normalizer, episode_seeds, deadline=None):
    """Worker task: rebuild the chunk's candidates and run them in lockstep.

    The result also carries the candidates as the strategy packs them (``"samples"``, 1 bit
    per connection for binary masks), so that the parent's update need not draw them again,
    and ``"busy_seconds"``, the task's own duration (worker utilisation in the benchmarks).
    """
    start = time.perf_counter()
    params = np.stack([strategy.sample(dist, s, g) for s, g in zip(seeds, signs)])
    # antithetic twins share their seed, hence their initial membranes: common random numbers
    membrane = [candidate_streams(s)[1] for s in seeds]
    envs = cached_envs(source, len(seeds))
    result = run_episodes(config, params, action_map, normalizer, envs, episode_seeds,
                          membrane, labels=labels, obs_shift=normalizer.mean, deadline=deadline)
    result["samples"] = strategy.pack_samples(params)
    result["busy_seconds"] = time.perf_counter() - start
    return result


def _is_dask(backend) -> bool:
    dask_backend = sys.modules.get("joblib._dask")  # imported by joblib once dask is in use
    return dask_backend is not None and isinstance(backend, dask_backend.DaskDistributedBackend)


def _dask_client(parallel):
    """The ``distributed.Client`` behind ``parallel`` when it runs on joblib's dask backend."""
    backend = getattr(parallel, "_backend", None)  # the backend this Parallel configured
    return backend.client if _is_dask(backend) else None


def runs_in_workers(n_jobs) -> bool:
    """Whether ``Parallel(n_jobs)``, under the active joblib configuration, runs its tasks
    outside this thread (so each worker must build its own environments).

    True for more than one job (processes, or threads on the ``threading`` backend), and for
    any ``n_jobs`` on the dask backend, which sends even a single task to the cluster.
    """
    return effective_n_jobs(n_jobs) > 1 or _is_dask(get_active_backend()[0])


def _share(parallel, obj, n_tasks):
    """``obj``, or a handle to one copy of it on the cluster for ``n_tasks`` tasks to read.

    On joblib's dask backend the object is scattered once and replicated to every worker;
    tasks receive the future, which dask resolves to the worker's copy. Left to itself, joblib
    would pickle the distribution (a dict, which its automatic scatter of large arguments
    skips) into every task. Other backends get ``obj`` unchanged.
    """
    client = _dask_client(parallel) if n_tasks > 1 else None
    if client is None:
        return obj
    # a list keeps the dict whole (scattering a dict scatters each value); hash=False skips
    # tokenising the arrays, which only matters for reusing keys across calls
    [future] = client.scatter([obj], broadcast=True, hash=False)
    return future


def evaluate_population(parallel, n_jobs, strategy, state, seeds, signs, source, config,
                        action_map, normalizer, episode_seeds, deadline=None, mode_seeds=None):
    """Evaluate a whole generation with ``parallel`` (a live ``joblib.Parallel`` of
    ``n_jobs`` workers), in the chunks of :func:`population_chunks`.

    With ``mode_seeds = (episode_seed, membrane_seed)``, the deterministic network of the
    same distribution runs one episode in the same call, as a task of its own (first, so that
    it never ends a generation late); its return is ``result["mode_return"]``.
    ``result["busy_seconds"]`` is the tasks' summed duration in the workers.
    """
    chunks = population_chunks(len(seeds), n_jobs)
    dist = _share(parallel, strategy.distribution(state), len(chunks))
    tasks = [
        delayed(evaluate_chunk)(strategy, dist, seeds[a:b], signs[a:b], np.arange(a, b), source,
                                config, action_map, normalizer, episode_seeds, deadline)
        for a, b in chunks
    ]
    if mode_seeds is not None:
        tasks.insert(0, delayed(_network_chunk)(
            strategy.mode(state), source, config, action_map, normalizer, [mode_seeds[0]],
            [mode_seeds[1]], deadline))
    parts = parallel(tasks)
    busy = float(sum(p.get("busy_seconds", 0.0) for p in parts))
    mode = parts.pop(0)["returns"][0] if mode_seeds is not None else None
    samples = [p.get("samples") for p in parts]
    return {key: np.concatenate([p[key] for p in parts]) for key in
            ("returns", "lengths", "episodes", "obs_sum", "obs_sqsum")} | {
        "obs_shift": parts[0]["obs_shift"], "mode_return": mode, "busy_seconds": busy,
        "samples": None if any(x is None for x in samples) else np.concatenate(samples)}


def _network_chunk(params, source, config, action_map, normalizer, episode_seeds,
                   membrane_seeds, deadline=None, label="the deterministic network"):
    """Worker task: one network on some episodes (one copy per episode, in lockstep)."""
    start = time.perf_counter()
    envs = cached_envs(source, len(episode_seeds))
    copies = np.broadcast_to(params, (len(episode_seeds),) + params.shape)
    result = run_episodes(config, copies, action_map, normalizer, envs,
                          np.asarray(episode_seeds)[:, None],
                          [np.random.default_rng(int(s)) for s in membrane_seeds],
                          labels=[label] * len(episode_seeds), deadline=deadline)
    result["busy_seconds"] = time.perf_counter() - start
    return result


def evaluate_networks(parallel, n_chunks, networks, source, config, action_map, normalizer,
                      episode_seeds, membrane_seeds, deadline=None):
    """True returns ``(len(networks), n_episodes)`` of networks on the same fresh episodes.

    Every network plays the same episodes (common random numbers, a fair comparison): episode
    ``i`` resets the environment with ``episode_seeds[i]`` and the membranes from
    ``membrane_seeds[i]``. The episodes are split over the workers; the split changes no
    result. ``normalizer`` is one observation normaliser for all networks, or a list of one
    per network (networks from different generations, as in the final selection); all of
    them go to the workers in one call.
    """
    n = len(episode_seeds)
    if isinstance(normalizer, (list, tuple)):
        if len(normalizer) != len(networks):
            raise ValueError(f"got {len(normalizer)} normalizers for {len(networks)} networks; "
                             "pass one normalizer, or one per network.")
        normalizers = list(normalizer)
    else:
        normalizers = [normalizer] * len(networks)
    bounds = np.linspace(0, n, min(max(n_chunks // len(networks), 1), n) + 1).astype(int)
    spans = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    parts = parallel(
        delayed(_network_chunk)(params, source, config, action_map, norm,
                                episode_seeds[a:b], membrane_seeds[a:b], deadline)
        for params, norm in zip(networks, normalizers) for a, b in spans)
    returns = np.concatenate([p["returns"] for p in parts])
    return returns.reshape(len(networks), n)
