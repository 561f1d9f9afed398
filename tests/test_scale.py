"""Scaling out: what a worker task carries, read-only inputs, and real dask and ray engines.

The engine tests start a dask ``LocalCluster`` (worker processes over loopback TCP) and a local
ray runtime once per module, fit each estimator under ``joblib.parallel_config`` and compare
with ``n_jobs=1``. They skip when the ``dask`` or ``ray`` extra is not installed.
"""

import functools
import os
import pickle
import time
from pathlib import Path

import joblib
import joblib.pool
import numpy as np
import pytest

from satrlearn import ECSearch, ESSearch, SATRSearch
from satrlearn.network import NetworkConfig
from satrlearn.normalization import Moments, ObservationNormalizer
from satrlearn.parallel import (evaluate_chunk, evaluate_population, population_chunks,
                                runs_in_workers)
from satrlearn.policy import ActionMap
from satrlearn.rollout import EnvSource
from satrlearn.search import HISTORY_KEYS
from satrlearn.strategies import ES, SATR

from .stub_env import make_stub

ESTIMATORS = [SATRSearch, ECSearch, ESSearch]
TINY = dict(pop=8, n_generations=2, n_hidden=16, random_state=0)
ROOT = Path(__file__).resolve().parents[1]


def stub():
    return functools.partial(make_stub)


def assert_same_fit(a, b):
    for key in HISTORY_KEYS:
        if key != "wall_time":
            np.testing.assert_array_equal(a.history_[key], b.history_[key], err_msg=key)
    assert a.distribution_.keys() == b.distribution_.keys()
    for k, v in a.distribution_.items():
        np.testing.assert_array_equal(v, b.distribution_[k], err_msg=k)
    np.testing.assert_array_equal(a.policy_.normalizer.mean, b.policy_.normalizer.mean)


def _fixture_inputs(strategy, pop=6, n_hidden=16):
    """Everything a worker task receives, for the stub env, with a non-trivial normaliser."""
    rng = np.random.default_rng(1)
    source = EnvSource(stub())
    env = source.make()
    action_map = ActionMap(env.action_space)
    config = NetworkConfig(n_in=3, n_out=action_map.n_out, n_hidden=n_hidden)
    state = strategy.init(config.n_params, rng)
    if "rho" in state:
        state["rho"] = rng.uniform(0.05, 0.95, config.n_params)
    else:
        state["mu"] = rng.normal(0.0, 0.5, config.n_params)
    normalizer = ObservationNormalizer(3, clip=5.0)
    normalizer.merge(Moments(3, 50.0, rng.normal(size=3), rng.uniform(10, 50, size=3)))
    seeds, signs = strategy.candidates(rng, pop)
    return dict(strategy=strategy, state=state, seeds=seeds, signs=signs, source=source,
                config=config, action_map=action_map, normalizer=normalizer,
                episode_seeds=np.array([11, 12]))


class RecordingParallel:
    """Stands in for a live ``joblib.Parallel``: keeps the tasks, then runs them in order."""

    def __init__(self):
        self.tasks = []

    def __call__(self, tasks):
        tasks = list(tasks)
        self.tasks.extend(tasks)
        return [func(*args, **kwargs) for func, args, kwargs in tasks]


# --- how a generation is split ---------------------------------------------------------------

@pytest.mark.parametrize("pop", [1, 2, 3, 8, 31, 64, 128, 1000])
@pytest.mark.parametrize("n_jobs", [1, 2, 3, 8])
def test_population_chunks_cover_the_population_largest_first(pop, n_jobs):
    chunks = population_chunks(pop, n_jobs)
    # contiguous, in candidate order, nothing left out or counted twice
    assert chunks[0][0] == 0 and chunks[-1][1] == pop
    assert all(b0 == a1 for (_, b0), (a1, _) in zip(chunks, chunks[1:]))
    sizes = [b - a for a, b in chunks]
    assert min(sizes) >= 1
    if n_jobs == 1:
        assert chunks == [(0, pop)]
        return
    # every worker gets work, the sizes never grow along the queue, and the last chunks are
    # small, so that no worker waits long for another's last one
    assert len(chunks) >= min(pop, n_jobs)
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-1] <= max(1, -(-pop // (8 * n_jobs)))
    assert sizes[0] <= max(1, -(-pop // (2 * n_jobs)))


# --- what a task carries --------------------------------------------------------------------

@pytest.mark.parametrize("strategy", [SATR(eta=30.0), ES(0.3, 0.15, 0.1)], ids=["SATR", "ES"])
def test_task_carries_distribution_and_seeds_not_population(strategy):
    inp = _fixture_inputs(strategy, pop=96, n_hidden=64)
    n_params = inp["config"].n_params
    parallel = RecordingParallel()
    evaluate_population(parallel, 3, inp["strategy"], inp["state"], inp["seeds"], inp["signs"],
                        inp["source"], inp["config"], inp["action_map"], inp["normalizer"],
                        inp["episode_seeds"])
    chunks = population_chunks(96, 3)
    assert len(parallel.tasks) == len(chunks)
    dist = strategy.distribution(inp["state"])
    dist_bytes = len(pickle.dumps(dist))
    # the first chunk's candidates at one byte per connection would not fit in the bound below
    assert (chunks[0][1] - chunks[0][0]) * n_params > dist_bytes + 16_000
    for func, args, kwargs in parallel.tasks:
        assert func is evaluate_chunk
        for arg in list(args) + list(kwargs.values()):
            # no candidate's parameters travel: nothing shaped (k, n_params)
            assert not (isinstance(arg, np.ndarray) and arg.ndim == 2), arg.shape
        assert args[1].keys() == dist.keys()
        assert len(pickle.dumps((args, kwargs))) < dist_bytes + 16_000
    chunk_seeds = np.concatenate([args[2] for _, args, _ in parallel.tasks])
    np.testing.assert_array_equal(chunk_seeds, inp["seeds"])


def _read_only(a):
    a = np.array(a)  # a copy: the caller's arrays stay writable
    a.setflags(write=False)
    return a


@pytest.mark.parametrize("strategy", [SATR(eta=30.0), ES(0.3, 0.15, 0.1)], ids=["SATR", "ES"])
def test_evaluate_chunk_reads_read_only_inputs(strategy):
    # ray's object store hands workers read-only arrays; a worker that writes into its
    # arguments would fail there (and, on dask, corrupt the copy other tasks share)
    inp = _fixture_inputs(strategy)
    dist = strategy.distribution(inp["state"])
    labels = np.arange(len(inp["seeds"]))

    def run(dist, seeds, signs, labels, normalizer, episode_seeds):
        return evaluate_chunk(inp["strategy"], dist, seeds, signs, labels, inp["source"],
                              inp["config"], inp["action_map"], normalizer, episode_seeds)

    expected = run(dist, inp["seeds"], inp["signs"], labels, inp["normalizer"],
                   inp["episode_seeds"])

    frozen = inp["normalizer"].copy()
    for obj in (frozen, frozen.moments):
        for name in ("mean", "scale", "m2"):
            if hasattr(obj, name):
                setattr(obj, name, _read_only(getattr(obj, name)))
    ro_dist = {k: _read_only(v) if isinstance(v, np.ndarray) else v for k, v in dist.items()}
    got = run(ro_dist, _read_only(inp["seeds"]), _read_only(inp["signs"]), _read_only(labels),
              frozen, _read_only(inp["episode_seeds"]))
    assert not any(v.flags.writeable for v in ro_dist.values() if isinstance(v, np.ndarray))
    assert got.keys() == expected.keys()
    for key in expected.keys() - {"busy_seconds"}:  # a duration: differs from run to run
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    assert expected["lengths"].sum() > 0 and got["busy_seconds"] > 0


# --- dask -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    # everything on loopback; the scheduler's HTTP routes on a free port, not 8787
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.mark.parametrize("Est", ESTIMATORS, ids=lambda c: c.__name__)
def test_dask_backend_gives_the_n_jobs_1_result(dask_client, Est):
    reference = Est(**TINY, n_jobs=1).fit(stub())
    with joblib.parallel_config(backend="dask"):
        on_dask = Est(**TINY, n_jobs=2).fit(stub())
    assert_same_fit(reference, on_dask)
    # the work really ran in the cluster's worker processes, which built their own envs
    assert any(dask_client.run(_env_cache_size).values())


def _env_cache_size():
    from satrlearn import rollout

    return sum(len(envs) for envs in rollout._ENV_CACHE.values())


def test_runs_in_workers_knows_dask_sends_even_one_task_away(dask_client):
    assert not runs_in_workers(1) and runs_in_workers(2)
    with joblib.parallel_config(backend="dask"):
        assert runs_in_workers(1) and runs_in_workers(None) and runs_in_workers(-1)


def _scheduler_keys(client):
    return client.run_on_scheduler(lambda dask_scheduler: sorted(map(str, dask_scheduler.tasks)))


def test_dask_scatters_the_distribution_once_per_generation(dask_client, monkeypatch):
    from dask.distributed import Future

    scatters, task_args = [], []
    real_scatter, real_submit = dask_client.scatter, dask_client.submit

    def scatter(data, *args, **kwargs):
        scatters.append(kwargs)
        return real_scatter(data, *args, **kwargs)

    def submit(*args, **kwargs):  # joblib's dask backend submits batches of (func, args, kw)
        task_args.extend(a for func, a, _ in kwargs.get("tasks", ()) if func is evaluate_chunk)
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(dask_client, "scatter", scatter)
    monkeypatch.setattr(dask_client, "submit", submit)
    with joblib.parallel_config(backend="dask"):
        est = SATRSearch(**{**TINY, "n_generations": 3}, n_jobs=-1).fit(stub())
    monkeypatch.undo()

    per_gen = len(population_chunks(TINY["pop"], 2))  # tasks per generation, 2 dask workers
    assert len(task_args) == 3 * per_gen
    dists = [a[1] for a in task_args]
    assert all(isinstance(d, Future) for d in dists), [type(d) for d in dists]
    keys = [d.key for d in dists]
    # the tasks of a generation share one copy; each generation sends its own
    gens = [keys[g * per_gen:(g + 1) * per_gen] for g in range(3)]
    assert all(len(set(g)) == 1 for g in gens) and len({g[0] for g in gens}) == 3
    assert len(scatters) == 3 and all(kw.get("broadcast") for kw in scatters)
    task_args.clear()  # drop the futures, so the cluster may release them
    del dists
    # and nothing is left behind on the cluster once the fit is over
    deadline = time.monotonic() + 10
    while set(map(str, keys)) & set(_scheduler_keys(dask_client)):
        assert time.monotonic() < deadline, "scattered distributions still on the cluster"
        time.sleep(0.1)
    assert est.n_generations_ == 3


# --- ray ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_runtime():
    ray = pytest.importorskip("ray")
    ray_joblib = pytest.importorskip("ray.util.joblib")
    services = pytest.importorskip("ray._private.services")
    if not hasattr(services, "resolve_ip_for_localhost"):
        pytest.skip("this ray cannot be kept on loopback")
    # workers import the stub env from this checkout's tests package
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with pytest.MonkeyPatch.context() as mp:
        # ray swaps 127.0.0.1 for the address other machines would reach this one at; a
        # runtime for tests stays on loopback (address="local": never join a running cluster)
        mp.setattr(services, "resolve_ip_for_localhost", lambda host: host)
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 _node_ip_address="127.0.0.1", object_store_memory=200 * 1024**2,
                 runtime_env={"env_vars": {"PYTHONPATH": pythonpath}})
    # ray's joblib backend rebases joblib's PicklingPool onto ray's Pool; undo that afterwards
    pool_bases = joblib.pool.PicklingPool.__bases__
    try:
        if ray.util.get_node_ip_address() != "127.0.0.1":
            pytest.skip("this ray cannot be kept on loopback")
        ray_joblib.register_ray()
        yield ray
    finally:
        ray.shutdown()
        joblib.pool.PicklingPool.__bases__ = pool_bases


@pytest.mark.parametrize("Est", ESTIMATORS, ids=lambda c: c.__name__)
def test_ray_backend_gives_the_n_jobs_1_result(ray_runtime, Est, monkeypatch):
    from ray.util.multiprocessing.pool import Pool

    pools = []
    real_init = Pool.__init__

    def init(self, *args, **kwargs):  # the pool of ray actors joblib's ray backend starts
        pools.append(kwargs.get("processes", args[0] if args else None))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Pool, "__init__", init)
    reference = Est(**TINY, n_jobs=1).fit(stub())
    assert pools == []
    with joblib.parallel_config(backend="ray"):
        on_ray = Est(**TINY, n_jobs=-1).fit(stub())
    assert pools == [2]  # the fit ran on ray, one actor per CPU of the runtime
    assert_same_fit(reference, on_ray)
