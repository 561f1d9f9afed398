"""NIR export: the round trip is exact, edited graphs are refused, other simulators agree."""

import gymnasium as gym
import numpy as np
import pytest

from satrlearn import cli
from satrlearn.network import NetworkConfig
from satrlearn.nir import VARIANTS, from_nir, graph_constants, read_nir, to_nir, write_nir
from satrlearn.normalization import Moments, ObservationNormalizer
from satrlearn.policy import RSNNPolicy

nir = pytest.importorskip("nir")

BOX = gym.spaces.Box(low=np.array([-1.0, 0.0], np.float32),
                     high=np.array([1.0, 2.0], np.float32), dtype=np.float32)


def make_policy(n_in=4, n_hidden=40, space=BOX, binary=True, seed=0, normalise=True):
    n_out = space.n if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape))
    cfg = NetworkConfig(n_in=n_in, n_out=n_out, n_hidden=n_hidden)
    rng = np.random.default_rng(seed)
    params = (rng.random(cfg.n_params) < 0.5 if binary
              else rng.standard_normal(cfg.n_params).astype(np.float32))
    norm = ObservationNormalizer(n_in)
    if normalise:
        obs = rng.standard_normal((50, n_in)) * 2 + 0.5
        norm.merge(Moments(n_in, 50, obs.mean(0), ((obs - obs.mean(0)) ** 2).sum(0)))
    return RSNNPolicy(cfg, params, norm, space, seed=seed)


def observations(n_in, t=25, seed=1):
    return np.random.default_rng(seed).uniform(-1.5, 2.5, size=(t, n_in))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("binary", [True, False])
def test_round_trip_is_exact(variant, binary, tmp_path):
    policy = make_policy(binary=binary)
    back = from_nir(to_nir(policy, variant))
    assert back.params.dtype == policy.params.dtype
    np.testing.assert_array_equal(back.params, policy.params)
    assert back.config == policy.config
    np.testing.assert_array_equal(back.normalizer.mean, policy.normalizer.mean)
    np.testing.assert_array_equal(back.normalizer.scale, policy.normalizer.scale)
    assert back.normalizer.clip == policy.normalizer.clip
    assert back.action_map.to_dict() == policy.action_map.to_dict()
    obs = observations(4)
    np.testing.assert_array_equal(back.run_sequence(obs, seed=3), policy.run_sequence(obs, seed=3))
    # spike for spike: the same counts after the same episode
    for p in (policy, back):
        p.reset(seed=5)
        for o in obs:
            p(o)
    assert (back.spikes, back.synaptic_events) == (policy.spikes, policy.synaptic_events)
    # and through a file
    path = write_nir(policy, tmp_path / "p.nir", variant)
    again = from_nir(path)
    np.testing.assert_array_equal(again.params, policy.params)
    assert again.config == policy.config


def test_exact_graph_carries_every_constant():
    policy = make_policy()
    cfg = policy.config
    g = to_nir(policy)
    a_syn = cfg.decays[0]
    lif = g.nodes["lif"]
    np.testing.assert_array_equal(lif.tau, np.full(cfg.n_hidden, cfg.tau_m))
    np.testing.assert_array_equal(lif.v_threshold, np.full(cfg.n_hidden, cfg.v_th))
    np.testing.assert_array_equal(lif.v_reset, np.full(cfg.n_hidden, cfg.v_reset))
    np.testing.assert_array_equal(g.nodes["syn"].tau, np.full(cfg.n_hidden, cfg.tau_syn))
    np.testing.assert_allclose(g.nodes["syn"].r, cfg.dt / (1 - a_syn))
    np.testing.assert_array_equal(g.nodes["trace"].tau, np.full(cfg.n_hidden, cfg.tau_out))
    # NIR weights are (out, in); magnitudes r_in, r_h, r_out; E/I signs in W_h and W_out
    w_in = g.nodes["w_in"].weight
    assert w_in.shape == (cfg.n_hidden, 2 * cfg.n_in)
    assert set(np.unique(w_in)) <= {0.0, cfg.r_in}
    w_rec = g.nodes["w_rec"].weight
    assert np.all(w_rec[:, : cfg.n_exc] >= 0) and np.all(w_rec[:, cfg.n_exc:] <= 0)
    assert set(np.unique(np.abs(w_rec))) <= {0.0, cfg.r_h}
    assert set(np.unique(np.abs(g.nodes["w_out"].weight))) <= {0.0, cfg.r_out}
    assert ("syn", "lif") in g.edges and ("lif", "w_rec") in g.edges
    assert g.metadata["substeps_per_env_step"] == cfg.substeps
    assert g.metadata["time_unit"] == "ms"


def test_euler_constants_reproduce_the_exact_decays():
    cfg = NetworkConfig(n_in=3, n_out=1, n_hidden=8)
    k = graph_constants(cfg, "euler")
    a_syn, a_m, a_out = cfg.decays
    assert 1 - cfg.dt / k["tau_m"] == pytest.approx(a_m, abs=1e-15)
    assert 1 - cfg.dt / k["tau_syn"] == pytest.approx(a_syn, abs=1e-15)
    assert 1 - cfg.dt / k["tau_out"] == pytest.approx(a_out, abs=1e-15)
    with pytest.raises(ValueError, match="unknown NIR variant"):
        graph_constants(cfg, "loihi")


def test_discrete_policy_exports_without_action_node():
    policy = make_policy(space=gym.spaces.Discrete(3, start=2))
    g = to_nir(policy)
    assert "action" not in g.nodes and ("w_out", "output") in g.edges
    back = from_nir(g)
    np.testing.assert_array_equal(back.params, policy.params)
    assert back.action_map.to_dict() == {"type": "Discrete", "n": 3, "start": 2}


def test_edited_or_foreign_graphs_are_refused(tmp_path):
    policy = make_policy()
    g = to_nir(policy)
    g.nodes["lif"].tau = g.nodes["lif"].tau * 2
    with pytest.raises(ValueError, match="tau disagrees"):
        from_nir(g)
    bare = nir.NIRGraph.from_list(nir.Linear(weight=np.eye(2)))
    with pytest.raises(ValueError, match="no 'satrlearn' metadata"):
        from_nir(bare)
    with pytest.raises(FileNotFoundError):
        read_nir(tmp_path / "missing.nir")
    (tmp_path / "junk.nir").write_text("not hdf5")
    with pytest.raises(ValueError, match="not a readable NIR file"):
        read_nir(tmp_path / "junk.nir")
    odd = make_policy()
    odd = RSNNPolicy(NetworkConfig(n_in=4, n_out=2, n_hidden=40, v_reset=-0.5), odd.params,
                     odd.normalizer, BOX)
    with pytest.raises(ValueError, match="v_reset = 0"):
        to_nir(odd, "snntorch")


def test_cli_export(tmp_path, capsys):
    policy = make_policy()
    path = policy.save(tmp_path / "policy.npz")
    out = tmp_path / "policy.nir"
    assert cli.main(["export", path, "--nir", str(out)]) == 0
    assert "saved NIR graph (exact variant)" in capsys.readouterr().out
    np.testing.assert_array_equal(from_nir(out).params, policy.params)
    assert cli.main(["export", path, "--nir", str(out), "--variant", "euler"]) == 0
    assert read_nir(out).metadata["variant"] == "euler"
    assert cli.main(["export", str(tmp_path / "none.npz"), "--nir", str(out)]) == 2
    assert "no policy file" in capsys.readouterr().err
    assert cli.main(["export", path, "--nir", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


# --- other simulators -----------------------------------------------------------------------

def _recording(policy, t=12):
    from satrlearn.raster import initial_membrane, run_reference

    obs = observations(policy.config.n_in, t=t)
    v0 = initial_membrane(policy, 7)
    ref = run_reference(policy, obs, v0)
    return {"observations": obs, "v0": v0, "spikes": ref["spikes"],
            "actions": ref["actions"]}


@pytest.mark.parametrize("variant, integration", [("exact", "zoh"), ("euler", "euler")])
def test_nirtorch_reproduces_satrlearn_spike_for_spike(variant, integration):
    pytest.importorskip("torch")
    pytest.importorskip("nirtorch")
    from satrlearn.nir import compare_with_consumer

    policy = make_policy(n_hidden=32)
    rec = _recording(policy)
    assert rec["spikes"].sum() > 0
    cmp = compare_with_consumer(policy, rec, variant=variant, consumer="nirtorch",
                                integration=integration)
    assert cmp["first_divergence"] is None
    np.testing.assert_array_equal(cmp["counts_consumer"], cmp["counts_satrlearn"])
    assert cmp["action_max_abs_diff"] < 1e-5


def test_euler_reading_of_the_exact_graph_disagrees():
    pytest.importorskip("torch")
    pytest.importorskip("nirtorch")
    from satrlearn.nir import compare_with_consumer

    policy = make_policy(n_hidden=32)
    cmp = compare_with_consumer(policy, _recording(policy), variant="exact",
                                integration="euler")
    assert cmp["first_divergence"] is not None


def test_snntorch_import_agrees_with_input_compensation():
    pytest.importorskip("torch")
    pytest.importorskip("snntorch")
    from satrlearn.nir import compare_with_consumer

    policy = make_policy(n_hidden=32)
    rec = _recording(policy)
    cmp = compare_with_consumer(policy, rec, variant="snntorch", consumer="snntorch",
                                compensate_input=True)
    # float32 in snnTorch: agreement to rounding, spike trains equal on this short run
    assert cmp["first_divergence"] is None
    assert cmp["action_max_abs_diff"] < 1e-4


def test_consumer_drives_an_environment():
    pytest.importorskip("torch")
    pytest.importorskip("nirtorch")
    from satrlearn.nir import consumer_episode
    from satrlearn.raster import record_episode
    from tests.stub_env import StubEnv

    space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    policy = make_policy(n_in=3, n_hidden=24, space=space, normalise=False)
    ours = record_episode(policy, StubEnv(length=15), seed=4, record_v=False)
    theirs = consumer_episode(policy, StubEnv(length=15), seed=4, variant="euler")
    assert theirs["length"] == ours["length"] == 15
    assert theirs["return"] == pytest.approx(ours["return"], abs=1e-5)


def test_policy_methods_are_the_module_functions():
    """RSNNPolicy.to_nir / from_nir / energy give what satrlearn.nir and satrlearn.energy do."""
    from satrlearn.energy import energy_report

    from .stub_env import StubEnv

    env = StubEnv(length=5)
    policy = make_policy(n_in=3, space=env.action_space)
    back = RSNNPolicy.from_nir(policy.to_nir())
    np.testing.assert_array_equal(back.params, policy.params)
    assert back.config == policy.config
    assert policy.energy(StubEnv(length=5), seed=0) == energy_report(policy, StubEnv(length=5),
                                                                      seed=0)
