"""Energy estimate: operation counts, joules, training estimate and `evaluate --energy`."""

import gymnasium as gym
import numpy as np
import pytest

from satrlearn import cli
from satrlearn.energy import (
    HOROWITZ_45NM,
    LOIHI,
    count_operations,
    energy_report,
    format_energy,
    training_energy,
)
from satrlearn.network import NetworkConfig
from satrlearn.normalization import ObservationNormalizer
from satrlearn.policy import RSNNPolicy
from tests.stub_env import StubEnv

SPACE = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)


def make_policy(n_hidden=30, seed=0):
    cfg = NetworkConfig(n_in=3, n_out=1, n_hidden=n_hidden)
    params = np.random.default_rng(seed).random(cfg.n_params) < 0.5
    return RSNNPolicy(cfg, params, ObservationNormalizer(3), SPACE, seed=seed)


def test_counts_match_the_policy_and_the_structure():
    policy = make_policy()
    cfg = policy.config
    episodes = count_operations(policy, StubEnv(length=12), n_episodes=2, seed=3)
    assert len(episodes) == 2
    w_in = policy.params[: 2 * cfg.n_in * cfg.n_hidden]
    w_out = policy.params[-cfg.n_hidden * cfg.n_out:]
    for i, ep in enumerate(episodes):
        assert ep["steps"] == 12
        assert ep["neuron_updates"] == cfg.n_hidden * cfg.substeps * 12
        assert ep["input_synaptic_ops"] == int(w_in.sum()) * 12
        assert ep["readout_synaptic_ops"] == int(w_out.sum()) * 12
        # the same counts as the policy keeps itself for that episode
        env = StubEnv(length=12)
        obs, _ = env.reset(seed=3 + i)
        policy.reset(seed=3 + i)
        for _ in range(12):
            obs, *_ = env.step(policy(obs))
        assert (ep["spikes"], ep["recurrent_synaptic_ops"]) == (policy.spikes,
                                                                  policy.synaptic_events)
    assert episodes[0]["spikes"] > 0
    with pytest.raises(ValueError, match="n_episodes"):
        count_operations(policy, StubEnv(), n_episodes=0)


def test_joules_follow_the_published_energies():
    policy = make_policy()
    cfg = policy.config
    rep = energy_report(policy, StubEnv(length=10), n_episodes=1, seed=0)
    ep = rep["episodes"][0]
    sops = ep["recurrent_synaptic_ops"] + ep["input_synaptic_ops"] + ep["readout_synaptic_ops"]
    assert ep["loihi_total"] == pytest.approx(
        sops * LOIHI["synaptic_op"] + ep["neuron_updates"] * LOIHI["neuron_update"]
        + ep["spikes"] * LOIHI["spike"])
    n, s = cfg.n_hidden, cfg.substeps
    assert ep["dense_rsnn_macs"] == 10 * (cfg.n_in * n + s * n * n + n * cfg.n_out)
    assert ep["dense_rnn"] == pytest.approx(
        10 * (cfg.n_in * n + n * n + n * cfg.n_out) * HOROWITZ_45NM["mac"])
    assert rep["per_step"]["loihi_total"] == pytest.approx(ep["loihi_total"] / 10)
    assert rep["per_episode"]["steps"] == 10
    # other energies per operation can be passed
    double = energy_report(policy, StubEnv(length=10), seed=0,
                           loihi={k: 2 * v for k, v in LOIHI.items()})
    assert double["per_step"]["loihi_total"] == pytest.approx(2 * rep["per_step"]["loihi_total"])
    text = "\n".join(format_energy(rep))
    assert "analytical" in text and "not a measurement" in text and "MACs" in text


def test_training_energy_scales_with_env_steps():
    history = {"env_steps": [100, 2500], "wall_time": [1.0, 4.0]}
    est = training_energy(history, {"loihi_total": 1e-6, "synaptic_ops": 10.0}, n_workers=2)
    assert est["env_steps"] == 2500 and est["cpu_seconds"] == 8.0
    assert est["loihi_total"] == pytest.approx(2.5e-3)
    assert est["synaptic_ops"] == pytest.approx(25_000)


def test_cli_evaluate_energy(tmp_path, capsys):
    policy = make_policy()
    path = policy.save(tmp_path / "policy.npz")
    assert cli.main(["evaluate", path, "--env", "CartPole-v1", "--episodes", "1"]) == 2
    capsys.readouterr()
    cart = RSNNPolicy(NetworkConfig(n_in=4, n_out=2, n_hidden=20),
                      np.random.default_rng(0).random(NetworkConfig(4, 2, 20).n_params) < 0.5,
                      ObservationNormalizer(4), gym.spaces.Discrete(2))
    path = cart.save(tmp_path / "cart.npz")
    assert cli.main(["evaluate", path, "--env", "CartPole-v1", "--episodes", "2",
                     "--energy"]) == 0
    out = capsys.readouterr().out
    assert "mean return" in out and "energy estimate (analytical" in out
    assert "Loihi" in out and "dense float" in out
