"""Spike rasters: recorded episodes match the policy, the plot and `plot --raster`."""

import gymnasium as gym
import numpy as np
import pytest

from satrlearn import cli
from satrlearn.network import NetworkConfig
from satrlearn.normalization import ObservationNormalizer
from satrlearn.policy import RSNNPolicy
from satrlearn.raster import initial_membrane, record_episode, run_reference
from tests.stub_env import StubEnv

SPACE = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)


def make_policy(n_hidden=30, seed=0):
    cfg = NetworkConfig(n_in=3, n_out=1, n_hidden=n_hidden)
    params = np.random.default_rng(seed).random(cfg.n_params) < 0.5
    return RSNNPolicy(cfg, params, ObservationNormalizer(3), SPACE, seed=seed)


def test_record_episode_matches_the_kernel():
    policy = make_policy()
    rec = record_episode(policy, StubEnv(length=15), seed=2)
    cfg = policy.config
    assert rec["length"] == 15 and rec["spikes"].shape == (15, cfg.substeps, cfg.n_hidden)
    assert rec["v"].shape == rec["spikes"].shape
    assert rec["kernel_max_diff"] < 1e-9
    assert rec["spikes"].sum() > 0
    # the membrane is at the reset value right after a spike, below threshold otherwise
    assert np.all(rec["v"][rec["spikes"]] == cfg.v_reset)
    assert np.all(rec["v"] <= cfg.v_th)
    np.testing.assert_array_equal(rec["v0"], initial_membrane(policy, 2))
    # open loop on the recorded observations gives the same spikes and actions
    again = run_reference(policy, rec["observations"], rec["v0"])
    np.testing.assert_array_equal(again["spikes"], rec["spikes"])
    np.testing.assert_array_equal(again["actions"], rec["actions"])
    env = StubEnv(length=15)
    env.reset(seed=2)
    total = sum(env.step(a)[1] for a in rec["actions"])
    assert rec["return"] == pytest.approx(total)


def test_plot_raster_writes_an_image(tmp_path):
    pytest.importorskip("matplotlib")
    from satrlearn.raster import plot_raster

    path = plot_raster(make_policy(), StubEnv(length=10), tmp_path / "r.png", max_steps=5)
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_cli_plot_raster(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    cfg = NetworkConfig(n_in=4, n_out=2, n_hidden=20)
    policy = RSNNPolicy(cfg, np.random.default_rng(0).random(cfg.n_params) < 0.5,
                        ObservationNormalizer(4), gym.spaces.Discrete(2))
    path = policy.save(tmp_path / "cart.npz")
    assert cli.main(["plot", "--raster", path, "--env", "CartPole-v1", "--steps", "5"]) == 0
    assert "saved spike raster to" in capsys.readouterr().out
    assert (tmp_path / "cart_raster.png").is_file()
    out = tmp_path / "pics" / ""
    out.mkdir()
    assert cli.main(["plot", "--raster", path, "--env", "CartPole-v1", "--out",
                     str(out)]) == 0
    assert (out / "raster.png").is_file()
    # errors: no environment, wrong environment, both a run and a raster, nothing at all
    assert cli.main(["plot", "--raster", path]) == 2
    assert "pass --env" in capsys.readouterr().err
    assert cli.main(["plot", "--raster", path, "--env", "Pendulum-v1"]) == 2
    assert "observations" in capsys.readouterr().err
    assert cli.main(["plot", str(tmp_path), "--raster", path, "--env", "CartPole-v1"]) == 2
    assert "not both" in capsys.readouterr().err
    assert cli.main(["plot"]) == 2
    assert "which run" in capsys.readouterr().err
