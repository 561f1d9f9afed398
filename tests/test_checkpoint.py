"""Checkpoints, bit-identical resume (also after SIGKILL), worker faults and time limits."""

import functools
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import satrlearn.checkpoint as ckpt
from satrlearn import ECSearch, ESSearch, SATRSearch, load_checkpoint
from satrlearn.search import HISTORY_KEYS

from .stub_env import StubEnv, make_stub

TINY = dict(pop=6, n_hidden=16, random_state=3)


def same_run(a, b):
    for key in HISTORY_KEYS:
        if key != "wall_time":
            np.testing.assert_array_equal(a.history_[key], b.history_[key], err_msg=key)
    da, db = a.distribution_, b.distribution_
    assert da.keys() == db.keys()
    for k in da:
        np.testing.assert_array_equal(da[k], db[k])
    np.testing.assert_array_equal(a.policy_.normalizer.mean, b.policy_.normalizer.mean)
    np.testing.assert_array_equal(a.policy_.params, b.policy_.params)


@pytest.mark.parametrize("Est", [SATRSearch, ECSearch, ESSearch], ids=lambda c: c.__name__)
def test_interrupt_then_resume_is_bit_identical(Est, tmp_path):
    full = Est(**TINY, n_generations=4).fit("CartPole-v1")

    def stop_at_2(est, record):
        if record["generation"] == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        Est(**TINY, n_generations=4, checkpoint_dir=tmp_path, callbacks=[stop_at_2]).fit(
            "CartPole-v1")
    est = load_checkpoint(tmp_path)
    assert type(est) is Est and est.n_generations_ == 2
    assert est.predict(np.zeros((3, 4))).shape == (3,)  # usable before resuming
    est.resume()
    assert est.n_generations_ == 4
    same_run(full, est)


def test_a_falling_floor_resumes_bit_identical(tmp_path):
    kw = dict(**TINY, n_generations=4, eta=8.0, rho_eps=(0.05, 0.002))
    full = SATRSearch(**kw).fit("CartPole-v1")

    def stop_at_2(est, record):
        if record["generation"] == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        SATRSearch(**kw, checkpoint_dir=tmp_path, callbacks=[stop_at_2]).fit("CartPole-v1")
    est = load_checkpoint(tmp_path)
    assert list(est.rho_eps) == [0.05, 0.002]
    est.resume()
    same_run(full, est)
    assert est._opt.rule.rho_eps == full._opt.rule.rho_eps < 0.05


def test_checkpoint_every_and_contents(tmp_path):
    est = SATRSearch(**TINY, n_generations=3, checkpoint_dir=tmp_path, checkpoint_every=2)
    writes = []
    real = ckpt.write_checkpoint

    def spy(directory, meta, arrays):
        writes.append(meta["n_generations_done"])
        return real(directory, meta, arrays)

    import satrlearn.search as search
    orig = search.write_checkpoint
    search.write_checkpoint = spy
    try:
        est.fit("CartPole-v1")
    finally:
        search.write_checkpoint = orig
    assert writes == [2, 3]  # every 2 generations and at the end
    meta, arrays = ckpt.read_checkpoint(tmp_path)
    assert meta["n_generations_done"] == 3 and meta["env"] == "CartPole-v1"
    assert {"state/rho", "obs_mean", "best/params"} <= set(arrays)
    assert all(a.dtype != object for a in arrays.values())


def test_checkpoint_from_before_the_noise_columns_resumes(tmp_path):
    # checkpoints written before history_ had noise_energy / signal_to_noise still load;
    # the generations they hold get NaN there and new generations get real values
    def stop_at_2(est, record):
        if record["generation"] == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        SATRSearch(**TINY, n_generations=3, checkpoint_dir=tmp_path,
                   callbacks=[stop_at_2]).fit("CartPole-v1")
    meta, arrays = ckpt.read_checkpoint(tmp_path)
    for key in ("noise_energy", "signal_to_noise"):
        del meta["history"][key]
    ckpt.write_checkpoint(tmp_path, {k: v for k, v in meta.items()
                                     if k not in ("format", "version")}, arrays)
    est = load_checkpoint(tmp_path)
    assert np.isnan(est.history_["signal_to_noise"]).all()
    est.resume()
    assert len(est.history_["signal_to_noise"]) == 3
    assert np.isnan(est.history_["signal_to_noise"][:2]).all()
    assert est.history_["signal_to_noise"][2] > 0


def test_failed_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    SATRSearch(**TINY, n_generations=1, checkpoint_dir=tmp_path).fit("CartPole-v1")
    before = (tmp_path / ckpt.CHECKPOINT_NAME).read_bytes()

    def disk_full(fh, **arrays):
        fh.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt.np, "savez", disk_full)
    est = SATRSearch(**TINY, n_generations=1, warm_start=True)
    with pytest.raises(OSError, match="No space"):
        est.save_checkpoint(tmp_path) if hasattr(est, "policy_") else est.fit(
            "CartPole-v1").save_checkpoint(tmp_path)
    assert (tmp_path / ckpt.CHECKPOINT_NAME).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.CHECKPOINT_NAME]


@pytest.mark.parametrize("content", [b"", b"hello", b"PK\x03\x04broken"])
def test_bad_checkpoint_files(tmp_path, content):
    (tmp_path / ckpt.CHECKPOINT_NAME).write_bytes(content)
    with pytest.raises(ValueError, match="not a readable satrlearn checkpoint"):
        load_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nowhere")


def test_resume_needs_env_for_factories(tmp_path):
    SATRSearch(**TINY, n_generations=2, checkpoint_dir=tmp_path).fit(
        functools.partial(make_stub))
    est = load_checkpoint(tmp_path)
    with pytest.raises(ValueError, match="pass it"):
        est.resume()
    est.resume(functools.partial(make_stub))  # nothing left to do, but it runs
    assert est.n_generations_ == 2
    with pytest.raises(ValueError, match="checkpoint_dir"):
        SATRSearch().resume("CartPole-v1")


_KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from satrlearn import SATRSearch

    def die_after_3(est, record):
        if record["generation"] == 3:
            os.kill(os.getpid(), signal.SIGKILL)

    SATRSearch(pop=6, n_hidden=16, random_state=3, n_generations=6, n_jobs=int(sys.argv[2]),
               checkpoint_dir=sys.argv[1], checkpoint_every=1,
               callbacks=[die_after_3]).fit("CartPole-v1")
""")


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_sigkill_then_resume_matches_uninterrupted(tmp_path, n_jobs):
    script = tmp_path / "run.py"
    script.write_text(_KILL_SCRIPT)
    run_dir = tmp_path / "run"
    log = tmp_path / "log.txt"
    with open(log, "w") as fh:  # files, not pipes: orphaned workers may hold pipes open
        proc = subprocess.Popen([sys.executable, str(script), str(run_dir), str(n_jobs)],
                                stdout=fh, stderr=subprocess.STDOUT)
        code = proc.wait(timeout=300)
    assert code == -signal.SIGKILL, log.read_text()
    est = load_checkpoint(run_dir, n_jobs=n_jobs)
    assert est.n_generations_ == 3
    est.resume()
    full = SATRSearch(pop=6, n_hidden=16, random_state=3, n_generations=6).fit("CartPole-v1")
    same_run(full, est)


def die_once_in_worker(marker, parent_pid):
    """An env factory that kills the worker process building it, the first time only."""
    if os.getpid() != parent_pid and not os.path.exists(marker):
        with open(marker, "w"):
            pass
        os._exit(1)
    return make_stub()


def test_worker_death_is_retried_with_the_same_seeds(tmp_path):
    factory = functools.partial(die_once_in_worker, str(tmp_path / "died"), os.getpid())
    with pytest.warns(RuntimeWarning, match="worker process died"):
        est = SATRSearch(**TINY, n_generations=2, n_jobs=2).fit(factory)
    assert (tmp_path / "died").exists()
    same_run(SATRSearch(**TINY, n_generations=2).fit(functools.partial(make_stub)), est)


def test_worker_death_beyond_retries_is_a_clear_error(tmp_path):
    factory = functools.partial(die_once_in_worker, str(tmp_path / "died"), os.getpid())
    est = SATRSearch(**TINY, n_generations=2, n_jobs=2, max_retries=0)
    with pytest.raises(RuntimeError, match="worker process died"):
        est.fit(factory)
    assert est.n_generations_ == 0 and hasattr(est, "policy_")


class SlowEnv(StubEnv):
    def step(self, action):
        time.sleep(0.05)
        return super().step(action)


def make_slow():
    import gymnasium as gym

    return gym.wrappers.TimeLimit(SlowEnv(), max_episode_steps=20)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_generation_timeout(n_jobs):
    est = SATRSearch(**TINY, n_generations=3, n_jobs=n_jobs, generation_timeout=0.3)
    with pytest.raises(TimeoutError, match="generation_timeout"):
        est.fit(make_slow)
    assert est.n_generations_ == 0 and hasattr(est, "policy_")


def test_ctrl_c_inside_a_generation_then_resume_is_bit_identical(tmp_path, monkeypatch):
    import satrlearn.search as search

    full = SATRSearch(**TINY, n_generations=4).fit("CartPole-v1")
    real = search.evaluate_population
    calls = []

    def interrupted_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # Ctrl-C while generation 3 is being evaluated
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "evaluate_population", interrupted_third)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        SATRSearch(**TINY, n_generations=4, checkpoint_dir=tmp_path).fit("CartPole-v1")
    monkeypatch.undo()
    est = load_checkpoint(tmp_path)
    assert est.n_generations_ == 2
    est.resume()
    same_run(full, est)


def interrupted_fit(est, stop_after):
    """Fit ``est`` on CartPole-v1 and stop it with Ctrl-C after generation ``stop_after``."""

    def stop(est, record):
        if record["generation"] == stop_after:
            raise KeyboardInterrupt

    est.set_params(callbacks=[stop])
    with pytest.warns(RuntimeWarning, match="interrupted"):
        est.fit("CartPole-v1")
    return est


@pytest.mark.parametrize("Est", [SATRSearch, ECSearch], ids=lambda c: c.__name__)
def test_checkpoint_from_before_the_signal_path_resumes(Est, tmp_path):
    # checkpoints written before the signal path existed hold no state/path arrays and no
    # state_names: they load, the path starts from zero, and the new generations log it
    interrupted_fit(Est(**TINY, n_generations=3, checkpoint_dir=tmp_path), stop_after=2)
    meta, arrays = ckpt.read_checkpoint(tmp_path)
    assert set(meta["state_names"]) >= {"rho", "path", "path_count"}
    assert int(arrays["state/path_count"]) == 2
    old_meta = {k: v for k, v in meta.items()
                if k not in ("format", "version", "state_names")}
    for key in ("signal_path", "eta"):
        del old_meta["history"][key]
    old_arrays = {k: v for k, v in arrays.items()
                  if k not in ("state/path", "state/path_count")}
    ckpt.write_checkpoint(tmp_path, old_meta, old_arrays)
    est = load_checkpoint(tmp_path)
    assert int(est._state["path_count"]) == 0 and not est._state["path"].any()
    est.resume()
    assert np.isnan(est.history_["signal_path"][:2]).all()
    assert np.isfinite(est.history_["signal_path"][2])
    # a file that declares arrays it does not hold is refused
    ckpt.write_checkpoint(tmp_path, {**old_meta, "state_names": meta["state_names"]},
                          old_arrays)
    with pytest.raises(ValueError, match="missing members"):
        load_checkpoint(tmp_path)


def test_a_run_from_before_the_input_gain_change_resumes_with_its_own_network(tmp_path):
    """Checkpoints written when k_in defaulted to 0.1 (network_params None) resume with 0.1."""
    full = SATRSearch(**TINY, n_generations=4, network_params={"k_in": 0.1}).fit("CartPole-v1")

    def stop_at_2(est, record):
        if record["generation"] == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        SATRSearch(**TINY, n_generations=4, network_params={"k_in": 0.1},
                   checkpoint_dir=tmp_path, callbacks=[stop_at_2]).fit("CartPole-v1")
    meta, arrays = ckpt.read_checkpoint(tmp_path)
    assert meta["network"]["k_in"] == 0.1
    meta["params"]["network_params"] = None      # what such a run stored
    ckpt.write_checkpoint(tmp_path, {k: v for k, v in meta.items()
                                     if k not in ("format", "version")}, arrays)
    # an estimator built with today's defaults refuses, naming the setting and the fix
    with pytest.raises(ValueError, match=r"k_in=0\.1 in the checkpoint, 0\.3 here.*"
                                         r"network_params=\{'k_in': 0\.1\}"):
        SATRSearch(**TINY, n_generations=4, checkpoint_dir=tmp_path).resume("CartPole-v1")
    est = load_checkpoint(tmp_path)
    assert est.network_params == {"k_in": 0.1} and est.network_config_.k_in == 0.1
    est.resume()
    same_run(full, est)
