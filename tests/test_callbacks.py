"""Callbacks with hooks, the built-in callbacks and save_run."""

import json
import os

import numpy as np
import pytest

from satrlearn import SATRSearch, load_checkpoint
from satrlearn.callbacks import (Callback, CSVLogger, StopOnReturn, TensorBoardLogger,
                                 read_history, save_run, write_history)
from satrlearn.policy import RSNNPolicy

TINY = {"pop": 8, "n_hidden": 16, "random_state": 0}


class Recorder(Callback):
    def __init__(self, stop_at=None):
        self.calls = []
        self.stop_at = stop_at

    def on_fit_start(self, est):
        self.calls.append(("start", len(est.history_["generation"])))

    def on_generation(self, est, record):
        self.calls.append(("gen", record["generation"]))
        return False if record["generation"] == self.stop_at else None

    def on_fit_end(self, est):
        self.calls.append(("end", est.n_generations_))


def test_hooks_run_in_order_and_every_callback_sees_the_stopping_generation():
    first, second = Recorder(stop_at=2), Recorder()
    seen = []
    est = SATRSearch(**TINY, n_generations=5,
                     callbacks=[first, second, lambda e, r: seen.append(r["generation"])])
    est.fit("CartPole-v1")
    assert est.n_generations_ == 2
    expected = [("start", 0), ("gen", 1), ("gen", 2), ("end", 2)]
    assert first.calls == expected and second.calls == expected
    assert seen == [1, 2]


def test_fit_end_runs_after_ctrl_c_and_errors(tmp_path):
    class Interrupt(Recorder):
        def on_generation(self, est, record):
            super().on_generation(est, record)
            raise KeyboardInterrupt

    cb = Interrupt()
    with pytest.warns(RuntimeWarning, match="interrupted"):
        SATRSearch(**TINY, n_generations=5, checkpoint_dir=tmp_path, callbacks=[cb]).fit(
            "CartPole-v1")
    assert cb.calls[-1] == ("end", 1)

    class Boom(Recorder):
        def on_generation(self, est, record):
            super().on_generation(est, record)
            raise RuntimeError("boom")

    cb = Boom()
    with pytest.raises(RuntimeError, match="boom"):
        SATRSearch(**TINY, n_generations=5, callbacks=[cb]).fit("CartPole-v1")
    assert cb.calls[-1] == ("end", 1)


def test_bad_callbacks_are_refused():
    with pytest.raises(TypeError, match="on_generation"):
        SATRSearch(**TINY, n_generations=1, callbacks=[42]).fit("CartPole-v1")


def test_stop_on_return():
    est = SATRSearch(**TINY, n_generations=30, eval_every=1,
                     callbacks=[StopOnReturn(9.0)]).fit("CartPole-v1")
    assert est.n_generations_ < 30
    assert est.history_["eval_mean"][-1] >= 9.0
    assert all(v < 9.0 for v in est.history_["eval_mean"][:-1])
    with pytest.raises(ValueError, match="no column 'nope'"):
        SATRSearch(**TINY, n_generations=2, callbacks=[StopOnReturn(1, key="nope")]).fit(
            "CartPole-v1")


def test_csv_logger_grows_per_generation_and_continues_on_resume(tmp_path):
    path = tmp_path / "h.csv"
    sizes = []

    def watch(est, record):
        sizes.append(len(read_history(path)["generation"]))
        if record["generation"] == 2:
            raise KeyboardInterrupt

    logger = CSVLogger(path)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        SATRSearch(**TINY, n_generations=4, checkpoint_dir=tmp_path / "ck",
                   callbacks=[logger, watch]).fit("CartPole-v1")
    assert sizes == [1, 2]   # the row was on disk when the next callback ran
    est = load_checkpoint(tmp_path / "ck", callbacks=[CSVLogger(path)])
    est.resume()
    assert read_history(path)["generation"] == [1, 2, 3, 4]
    expected = write_history(est.history_, tmp_path / "expected.csv")
    assert open(path, "rb").read() == open(expected, "rb").read()


def test_tensorboard_logger(tmp_path):
    pytest.importorskip("tensorboardX")
    SATRSearch(**TINY, n_generations=2, callbacks=[TensorBoardLogger(tmp_path / "tb")]).fit(
        "CartPole-v1")
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path / "tb"))


def test_save_run_writes_the_cli_run_folder(tmp_path):
    from satrlearn import cli

    est = SATRSearch(**TINY, n_generations=2).fit("CartPole-v1")
    written = save_run(est, tmp_path / "run", plot=False)
    assert {"policy.npz", "best_policy.npz", "history.csv", "run.json"} <= set(written)
    run = json.load(open(tmp_path / "run" / "run.json"))
    assert run["env"] == "CartPole-v1" and run["generations"] == 2
    assert run["params"]["pop"] == 8
    np.testing.assert_array_equal(RSNNPolicy.load(written["policy.npz"]).params,
                                  est.policy_.params)
    assert read_history(tmp_path / "run")["generation"] == [1, 2]
    # the CLI reads it: evaluate finds the env in run.json
    assert cli.main(["evaluate", str(tmp_path / "run" / "policy.npz"), "--episodes", "2"]) == 0
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_run(est, tmp_path / "run")
    save_run(est, tmp_path / "run", overwrite=True, plot=False)
