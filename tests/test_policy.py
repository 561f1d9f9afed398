"""RSNNPolicy: acting, the SB3 predict protocol, action mapping and the policy file."""

import json
import os
import pickle
import zipfile

import gymnasium as gym
import numpy as np
import pytest

from satrlearn.network import NetworkConfig
from satrlearn.normalization import Moments, ObservationNormalizer
from satrlearn.policy import ActionMap, RSNNPolicy

BOX = gym.spaces.Box(low=np.array([-1.0, 0.0, -3.0], np.float32),
                     high=np.array([1.0, 2.0, 5.0], np.float32), dtype=np.float32)
DISCRETE = gym.spaces.Discrete(4, start=1)


def make_policy(n_in=5, n_hidden=70, space=BOX, binary=True, seed=0):
    n_out = space.n if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape))
    cfg = NetworkConfig(n_in=n_in, n_out=n_out, n_hidden=n_hidden)
    rng = np.random.default_rng(seed)
    if binary:
        params = rng.random(cfg.n_params) < 0.5
    else:
        params = rng.standard_normal(cfg.n_params).astype(np.float32)
    norm = ObservationNormalizer(n_in)
    obs = rng.standard_normal((50, n_in)) * 3 + 1
    norm.merge(Moments(n_in, 50, obs.mean(0), ((obs - obs.mean(0)) ** 2).sum(0)))
    return RSNNPolicy(cfg, params, norm, space, seed=seed)


def observations(policy, t=12, seed=1):
    return np.random.default_rng(seed).standard_normal((t, policy.observation_size)) * 3 + 1


def saved(policy, tmp_path, name="policy.npz"):
    return policy.save(tmp_path / name)


# --- save / load ------------------------------------------------------------------------

@pytest.mark.parametrize("binary", [True, False], ids=["binary", "real"])
@pytest.mark.parametrize("space", [BOX, DISCRETE], ids=["box", "discrete"])
def test_save_load_round_trip_gives_identical_actions(tmp_path, binary, space):
    policy = make_policy(space=space, binary=binary)
    loaded = RSNNPolicy.load(saved(policy, tmp_path))
    assert loaded.binary == policy.binary
    assert loaded.params.dtype == policy.params.dtype
    np.testing.assert_array_equal(loaded.params, policy.params)
    assert loaded.config == policy.config
    np.testing.assert_array_equal(loaded.normalizer.mean, policy.normalizer.mean)
    np.testing.assert_array_equal(loaded.normalizer.scale, policy.normalizer.scale)
    assert loaded.action_map.to_dict() == policy.action_map.to_dict()
    obs = observations(policy)
    a = policy.run_sequence(obs, seed=3)
    b = loaded.run_sequence(obs, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == b.dtype
    if isinstance(space, gym.spaces.Discrete):
        assert all(space.contains(int(x)) for x in a)
    else:
        assert all(space.contains(x) for x in a)


def test_saved_policy_at_paper_shape_is_small(tmp_path):
    """Humanoid shape (348 in, 256 hidden, 17 out): 1 bit per connection, about 37 KB."""
    space = gym.spaces.Box(-0.4, 0.4, shape=(17,), dtype=np.float32)
    policy = make_policy(n_in=348, n_hidden=256, space=space)
    path = saved(policy, tmp_path)
    size = os.path.getsize(path)
    print(f"policy file at paper shape: {size} bytes")
    connection_bytes = policy.config.n_params / 8       # 248,064 connections
    assert connection_bytes == 31008
    assert size < 40_000, size
    loaded = RSNNPolicy.load(path)
    np.testing.assert_array_equal(loaded.params, policy.params)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no policy file"):
        RSNNPolicy.load(tmp_path / "nothing.npz")


def test_truncated_file_raises_value_error(tmp_path):
    path = saved(make_policy(), tmp_path)
    data = open(path, "rb").read()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="not a readable satrlearn policy file"):
            RSNNPolicy.load(bad)


def test_flipped_bytes_never_load_silently_wrong(tmp_path):
    """Any single corrupted byte either raises ValueError or leaves the policy unchanged.

    Zip member data are covered by CRC-32, so damage to connections, weights, normaliser or
    metadata is detected; bytes such as time stamps may change harmlessly.
    """
    policy = make_policy(n_in=3, n_hidden=20, space=DISCRETE)
    path = saved(policy, tmp_path)
    data = bytearray(open(path, "rb").read())
    obs = observations(policy, t=5)
    expected = policy.run_sequence(obs, seed=0)
    rejected = 0
    bad = tmp_path / "bad.npz"
    for pos in range(0, len(data), 3):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        bad.write_bytes(bytes(flipped))
        try:
            loaded = RSNNPolicy.load(bad)
        except ValueError:
            rejected += 1
            continue
        np.testing.assert_array_equal(loaded.params, policy.params)
        np.testing.assert_array_equal(loaded.run_sequence(obs, seed=0), expected)
    assert rejected > len(data) // 6


def test_corrupted_connection_bytes_raise_value_error(tmp_path):
    policy = make_policy()
    path = saved(policy, tmp_path)
    data = bytearray(open(path, "rb").read())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("connections.npy")
    # local header (30 bytes + name + extra), then the member's (deflated) data
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for pos in (start + info.compress_size // 2, start + info.compress_size - 3):
        flipped = bytearray(data)
        flipped[pos] ^= 0x5A
        bad = tmp_path / "bad.npz"
        bad.write_bytes(bytes(flipped))
        with pytest.raises(ValueError, match="satrlearn policy file"):
            RSNNPolicy.load(bad)


def test_foreign_files_raise_value_error(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just some text, not a policy\n")
    np.savez(tmp_path / "no_meta.npz", connections=np.zeros(4, np.uint8))
    np.savez(tmp_path / "other_meta.npz",
             meta=np.frombuffer(json.dumps({"format": "something-else"}).encode(), np.uint8))
    np.savez(tmp_path / "bad_json.npz", meta=np.frombuffer(b"{not json", np.uint8))
    np.save(tmp_path / "array.npy", np.arange(3))
    for name in ("notes.txt", "no_meta.npz", "other_meta.npz", "bad_json.npz", "array.npy"):
        with pytest.raises(ValueError, match="satrlearn policy file"):
            RSNNPolicy.load(tmp_path / name)


def test_newer_format_version_is_refused_with_a_clear_message(tmp_path):
    path = saved(make_policy(), tmp_path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    meta["version"] = 99
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(ValueError, match="format 99"):
        RSNNPolicy.load(tmp_path / "future.npz")


def test_inconsistent_contents_raise_value_error(tmp_path):
    path = saved(make_policy(), tmp_path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    short = dict(arrays, connections=arrays["connections"][:10])
    np.savez(tmp_path / "short.npz", **short)
    with pytest.raises(ValueError, match="inconsistent"):
        RSNNPolicy.load(tmp_path / "short.npz")


class _Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_crafted_pickles_never_run_code(tmp_path):
    marker = tmp_path / "pwned"
    raw = tmp_path / "policy.pkl"
    with open(raw, "wb") as fh:
        pickle.dump(_Payload(marker), fh)
    evil_array = np.empty(1, dtype=object)
    evil_array[0] = _Payload(marker)
    np.savez(tmp_path / "evil_meta.npz", meta=evil_array)
    good = saved(make_policy(), tmp_path)
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["connections"] = evil_array
    np.savez(tmp_path / "evil_connections.npz", **arrays)
    for name in ("policy.pkl", "evil_meta.npz", "evil_connections.npz"):
        with pytest.raises(ValueError):
            RSNNPolicy.load(tmp_path / name)
    assert not marker.exists()


# --- acting ---------------------------------------------------------------------------------

def test_predict_single_and_batched_observations():
    policy = make_policy()
    obs = observations(policy, t=4)
    action, state = policy.predict(obs[0])
    assert action.shape == (3,) and action.dtype == np.float32
    assert all(a.shape[0] == 1 for a in state)
    actions, state = policy.predict(obs)
    assert actions.shape == (4, 3)
    assert all(a.shape[0] == 4 for a in state)
    assert all(BOX.contains(a) for a in actions)
    d_policy = make_policy(space=DISCRETE)
    action, _ = d_policy.predict(obs[0])
    assert action.shape == () and 1 <= int(action) <= 4
    actions, _ = d_policy.predict(obs)
    assert actions.shape == (4,)


def _single_state(policy):
    # the network behind policy(obs), right after reset()
    net = policy._single
    return (net.v.copy(), net.i_syn.copy(), net.r.copy(), net.s.copy())


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "real"])
def test_predict_with_state_equals_stepwise_call(binary):
    policy = make_policy(binary=binary)
    obs = observations(policy, t=10)
    policy.reset(seed=5)
    state = _single_state(policy)
    called = [policy(o) for o in obs]
    predicted = []
    for o in obs:
        action, state = policy.predict(o, state=state)
        predicted.append(action)
    np.testing.assert_array_equal(np.array(called), np.array(predicted))
    assert policy.steps == 10
    assert policy.spikes > 0 and policy.synaptic_events > 0


def test_predict_batch_rows_are_independent():
    policy = make_policy()
    obs = observations(policy, t=6).reshape(3, 2, -1)          # 3 steps of a batch of 2
    _, state = policy.predict(obs[0])
    row_states = [tuple(a[q:q + 1].copy() for a in state) for q in range(2)]
    for t in (1, 2):
        actions, state = policy.predict(obs[t], state=state)
        for q in range(2):
            a_q, row_states[q] = policy.predict(obs[t][q:q + 1], state=row_states[q])
            np.testing.assert_array_equal(actions[q], a_q[0])


def test_episode_start_resets_only_those_rows():
    policy = make_policy()
    obs = observations(policy, t=12).reshape(4, 3, -1)
    _, state_a = policy.predict(obs[0])
    _, state_b = policy.predict(obs[1], state=state_a)
    starts = np.array([False, True, False])
    results = []
    for prior in (state_a, state_b):
        policy.reset(seed=9)            # same draw for the restarted row
        results.append(policy.predict(obs[2], state=prior, episode_start=starts))
        plain = policy.predict(obs[2], state=prior)
        for a, b in zip(results[-1][1], plain[1]):
            np.testing.assert_array_equal(a[[0, 2]], b[[0, 2]])
    # the restarted row forgets what came before
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(results[0][0][1], results[1][0][1])


def test_bad_observations_raise_value_error():
    policy = make_policy()
    with pytest.raises(ValueError, match="shape"):
        policy.predict(np.zeros(4))
    with pytest.raises(ValueError, match="shape"):
        policy(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="shape"):
        policy.predict(np.zeros((2, 6)))
    with pytest.raises(ValueError, match="NaN"):
        policy.predict(np.array([0.0, np.nan, 0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="NaN"):
        policy(np.array([0.0, 1.0, np.inf, 0.0, 0.0]))
    with pytest.raises(ValueError, match="one observation"):
        policy(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="state"):
        policy.predict(np.zeros(5), state=(1, 2))


@pytest.mark.parametrize("space", [gym.spaces.MultiBinary(4), gym.spaces.MultiDiscrete([2, 3]),
                                   gym.spaces.Box(0, 5, shape=(2,), dtype=np.int64)])
def test_unsupported_action_space_raises_type_error_naming_it(space):
    with pytest.raises(TypeError) as info:
        ActionMap(space)
    assert type(space).__name__ in str(info.value) or "int64" in str(info.value)
    cfg = NetworkConfig(n_in=2, n_out=4, n_hidden=10)
    with pytest.raises(TypeError, match=type(space).__name__):
        RSNNPolicy(cfg, np.zeros(cfg.n_params, bool), ObservationNormalizer(2), space)


def test_box_with_infinite_bounds_uses_the_clipped_readout():
    space = gym.spaces.Box(low=np.array([-np.inf, -2.0]), high=np.array([np.inf, 2.0]),
                           dtype=np.float64)
    amap = ActionMap(space)
    y = np.array([[3.0, 0.5], [-0.25, -7.0]])
    np.testing.assert_array_equal(amap(y), [[1.0, 1.0], [-0.25, -2.0]])
    policy = make_policy(space=space)
    actions = policy.run_sequence(observations(policy))
    assert np.all(np.isfinite(actions)) and np.all(np.abs(actions[:, 0]) <= 1.0)


def test_action_space_size_must_match_network():
    cfg = NetworkConfig(n_in=2, n_out=3, n_hidden=10)
    with pytest.raises(ValueError, match="outputs"):
        RSNNPolicy(cfg, np.zeros(cfg.n_params, bool), ObservationNormalizer(2),
                   gym.spaces.Discrete(5))
    with pytest.raises(ValueError, match="params"):
        RSNNPolicy(cfg, np.zeros(7, bool), ObservationNormalizer(2), gym.spaces.Discrete(3))
