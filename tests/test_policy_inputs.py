"""RSNNPolicy takes its env's own observations whatever their shape, and validates predict()."""

import gymnasium as gym
import numpy as np
import pytest

from satrlearn.network import NetworkConfig
from satrlearn.normalization import ObservationNormalizer
from satrlearn.policy import RSNNPolicy

BOX = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)


def make_policy(observation_shape=None, n_in=20):
    cfg = NetworkConfig(n_in=n_in, n_out=2, n_hidden=16)
    params = np.random.default_rng(0).random(cfg.n_params) < 0.5
    return RSNNPolicy(cfg, params, ObservationNormalizer(n_in), BOX, seed=0,
                      observation_shape=observation_shape)


class ImageEnv(gym.Env):
    """A (4, 5) uint8 observation space, as a small image task would have."""

    observation_space = gym.spaces.Box(0, 255, (4, 5), np.uint8)
    action_space = BOX

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        done = self.np_random.random() < 0.1
        return self.observation_space.sample(), float(action[0]), False, done, {}


def test_policy_acts_on_its_envs_own_multidimensional_observations(tmp_path):
    policy = make_policy((4, 5))
    env = ImageEnv()
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 5)
    a = policy(obs)
    assert BOX.contains(a)
    flat = make_policy((4, 5))
    np.testing.assert_array_equal(flat(obs.reshape(-1)), a)   # flat observations too
    batch = np.stack([obs, obs, obs])
    actions, state = policy.predict(batch)
    assert actions.shape == (3, 2)
    actions2, _ = policy.predict(batch.reshape(3, 20), state=state)
    assert actions2.shape == (3, 2)
    assert policy.run_sequence(batch, seed=0).shape == (3, 2)
    loaded = RSNNPolicy.load(policy.save(tmp_path / "p.npz"))
    assert loaded.observation_shape == (4, 5)
    np.testing.assert_array_equal(loaded.run_sequence(batch, seed=0),
                                  policy.run_sequence(batch, seed=0))
    with pytest.raises(ValueError, match=r"expects \(4, 5\) or \(20,\)"):
        policy(np.zeros((5, 4)))


def test_fit_on_an_image_env_gives_a_policy_for_its_observations():
    from satrlearn import SATRSearch

    est = SATRSearch(pop=8, n_generations=1, n_hidden=16, random_state=0,
                     max_episode_steps=20).fit(ImageEnv())
    obs, _ = ImageEnv().reset(seed=1)
    assert BOX.contains(est.policy_(obs))
    assert BOX.contains(est.best_policy_(obs))
    assert est.policy_.observation_shape == (4, 5)


def test_observation_shape_must_hold_the_inputs():
    with pytest.raises(ValueError, match="does not hold"):
        make_policy((3, 5))
    with pytest.raises(ValueError, match="tuple of ints"):
        make_policy("abc")


def test_complex_observations_are_refused():
    with pytest.raises(ValueError, match="real numbers"):
        make_policy()(np.zeros(20, np.complex128))


@pytest.mark.parametrize("episode_start, match", [
    (np.array([True, False, True]), r"shape \(3,\); expected \(2,\)"),
    (True, r"shape \(\); expected \(2,\)"),
    (np.array([[True, False]]), r"shape \(1, 2\)"),
    (np.array(["a", "b"]), "booleans"),
    (np.array([0.5, 1.0]), "booleans"),
])
def test_predict_validates_episode_start(episode_start, match):
    policy = make_policy()
    with pytest.raises(ValueError, match=match):
        policy.predict(np.zeros((2, 20)), episode_start=episode_start)


def test_predict_episode_start_resets_exactly_the_flagged_rows():
    policy = make_policy()
    obs = np.random.default_rng(1).standard_normal((2, 20))
    _, state = policy.predict(obs)
    for _ in range(3):
        _, state = policy.predict(obs, state=state)
    _, after = policy.predict(obs, state=state, episode_start=np.array([False, True]))
    _, kept = policy.predict(obs, state=state, episode_start=[0, 0])
    np.testing.assert_array_equal(after[0][0], kept[0][0])      # row 0 carried on
    assert not np.array_equal(after[0][1], kept[0][1])          # row 1 started afresh
    # a scalar flag is fine for a single observation
    policy.predict(obs[0], state=tuple(a[:1] for a in state), episode_start=True)


@pytest.mark.parametrize("make_state, match", [
    (lambda s: s[:3], "tuple"),
    (lambda s: "state", "tuple"),
    (lambda s: (s[0][:1], s[1], s[2], s[3]), r"v has shape \(1, 16\), expected \(2, 16\)"),
    (lambda s: (np.full_like(s[0], np.nan), s[1], s[2], s[3]), "NaN"),
    (lambda s: (s[0], s[1], s[2], s[3].astype(np.float64)), "uint64"),
])
def test_predict_validates_state(make_state, match):
    policy = make_policy()
    obs = np.zeros((2, 20))
    _, state = policy.predict(obs)
    with pytest.raises(ValueError, match=match):
        policy.predict(obs, state=make_state(state))
