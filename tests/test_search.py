"""The estimators: API conventions, determinism, bad input, interruption (fast, stub env)."""

import functools
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from sklearn.base import clone

from satrlearn import ECSearch, ESSearch, RolloutError, RSNNPolicy, SATRSearch
from satrlearn.search import HISTORY_KEYS

from .stub_env import StubEnv, make_stub

ESTIMATORS = [SATRSearch, ECSearch, ESSearch]
TINY = dict(pop=6, n_generations=2, n_hidden=16, random_state=0)


def stub(**kw):
    return functools.partial(make_stub, **kw)


@pytest.fixture(params=ESTIMATORS, ids=lambda c: c.__name__)
def Est(request):
    return request.param


def test_init_stores_params_verbatim(Est):
    est = Est(pop=10, n_generations=3, random_state=7, network_params={"tau_m": 20.0})
    params = est.get_params()
    assert params["pop"] == 10 and params["n_generations"] == 3 and params["random_state"] == 7
    assert params["network_params"] == {"tau_m": 20.0}
    est.set_params(pop=12)
    assert est.pop == 12
    assert Est.__name__ in repr(est) and "pop=12" in repr(est)
    c = clone(est)
    assert c.get_params()["pop"] == 12 and c is not est


def test_fit_predict_score_history(Est):
    est = Est(**TINY).fit(stub())
    assert est.n_generations_ == 2
    assert set(est.history_) == set(HISTORY_KEYS)
    assert all(len(v) == 2 for v in est.history_.values())
    assert est.history_["env_steps"][-1] == est.env_steps_ == 2 * 6 * 20
    assert isinstance(est.policy_, RSNNPolicy) and isinstance(est.best_policy_, RSNNPolicy)
    assert est.policy_.binary == (Est is not ESSearch)
    actions = est.predict(np.zeros((7, 3)))
    assert actions.shape == (7, 1)
    assert np.all(np.abs(actions) <= 1.0)
    score = est.score(stub(), n_episodes=2)
    assert np.isfinite(score) and -40 <= score <= 20


def test_discrete_actions_predict_shape(Est):
    est = Est(**TINY).fit(stub(discrete=True))
    actions = est.predict(np.zeros((5, 3)))
    assert actions.shape == (5,) and set(actions.tolist()) <= {0, 1, 2}


def test_not_fitted_errors(Est):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Est().predict(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        Est().score("CartPole-v1")


def test_pickle_fitted(Est):
    est = Est(**TINY).fit(stub())
    again = pickle.loads(pickle.dumps(est))
    x = np.random.default_rng(0).normal(size=(6, 3))
    np.testing.assert_array_equal(again.predict(x), est.predict(x))
    # and it can keep going
    again.set_params(warm_start=True, n_generations=1).fit(stub())
    assert again.n_generations_ == 3


def test_same_result_for_any_n_jobs(Est):
    a = Est(**TINY, n_jobs=1).fit("CartPole-v1")
    b = Est(**TINY, n_jobs=2).fit("CartPole-v1")
    for key in HISTORY_KEYS:
        if key != "wall_time":
            np.testing.assert_array_equal(a.history_[key], b.history_[key], err_msg=key)
    for k, v in a.distribution_.items():
        np.testing.assert_array_equal(v, b.distribution_[k])
    np.testing.assert_array_equal(a.policy_.normalizer.mean, b.policy_.normalizer.mean)


def test_random_state_reproducible_and_generator(Est):
    a = Est(**TINY).fit(stub())
    b = Est(**TINY).fit(stub())
    assert a.history_["return_mean"] == b.history_["return_mean"]
    c = Est(**{**TINY, "random_state": np.random.default_rng(0)}).fit(stub())
    assert len(c.history_["return_mean"]) == 2


def test_warm_start_continues(Est):
    est = Est(**TINY, warm_start=True).fit(stub())
    dist = est.distribution_
    est.fit(stub())
    assert est.n_generations_ == 4 and len(est.history_["generation"]) == 4
    assert est.history_["generation"] == [1, 2, 3, 4]
    cold = Est(**TINY).fit(stub())
    cold.fit(stub())
    assert cold.n_generations_ == 2
    assert any(not np.array_equal(v, est.distribution_[k]) for k, v in dist.items())


def test_callbacks_see_every_generation_and_can_stop(Est):
    seen = []

    def cb(est, record):
        seen.append(record["generation"])
        return record["generation"] < 2

    est = Est(**{**TINY, "n_generations": 5}, callbacks=[cb]).fit(stub())
    assert seen == [1, 2] and est.n_generations_ == 2


def test_ctrl_c_keeps_last_completed_generation(Est):
    def interrupt(est, record):
        if record["generation"] == 2:
            raise KeyboardInterrupt

    est = Est(**{**TINY, "n_generations": 5}, callbacks=[interrupt])
    with pytest.warns(RuntimeWarning, match="interrupted"):
        est.fit(stub())
    assert est.interrupted_ and est.n_generations_ == 2
    assert est.predict(np.zeros((3, 3))).shape == (3, 1)


def test_env_sources(Est):
    spec = gym.spec("CartPole-v1")
    Est(**TINY).fit(spec)
    Est(**TINY).fit(gym.make("CartPole-v1"))
    Est(**TINY).fit(lambda: gym.make("CartPole-v1"))
    # an instance without a spec works in-process
    est = Est(**TINY).fit(StubEnv())
    assert est.n_generations_ == 2


def test_instance_without_spec_rejected_for_workers(Est):
    with pytest.raises(ValueError, match="cannot be rebuilt"):
        Est(**TINY, n_jobs=2).fit(StubEnv())


@pytest.mark.parametrize("kw, match", [
    ({"pop": 1}, "pop must be >= 2"),
    ({"pop": 4.5}, "pop must be an integer"),
    ({"n_generations": -1}, "n_generations must be >= 0"),
    ({"n_episodes": 0}, "n_episodes"),
    ({"n_hidden": 0}, "n_hidden"),
    ({"excitatory_ratio": 1.5}, "excitatory_ratio"),
    ({"n_jobs": 0}, "n_jobs"),
    ({"obs_clip": float("nan")}, "obs_clip must be finite"),
    ({"network_params": {"tau_m": -1.0}}, "tau_m"),
    ({"network_params": {"n_in": 3}}, "n_in"),
    ({"callbacks": [3]}, "callbacks"),
])
def test_bad_common_params(Est, kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Est(**{**TINY, **kw}).fit(stub())


@pytest.mark.parametrize("Est, kw, match", [
    (SATRSearch, {"eta": -1.0}, "eta must be > 0"),
    (SATRSearch, {"eta": float("nan")}, "eta must be finite"),
    (SATRSearch, {"rho_eps": 0.7}, "rho_eps"),
    (SATRSearch, {"rho_eps": (0.01,)}, "rho_eps must be a number or a pair"),
    (SATRSearch, {"rho_eps": (0.01, 0.002, 0.001)}, "pair"),
    (SATRSearch, {"rho_eps": (0.01, 0.0)}, "rho_eps must be > 0"),
    (SATRSearch, {"rho_eps": (0.6, 0.001)}, "rho_eps must be <= 0.5"),
    (SATRSearch, {"rho_eps": ("0.01", 0.001)}, "rho_eps must be a number"),
    (ECSearch, {"learning_rate": 0.0}, "learning_rate"),
    (ECSearch, {"trust_region": -0.1}, "trust_region"),
    (ESSearch, {"sigma": float("inf")}, "sigma"),
    (ESSearch, {"weight_decay": -1.0}, "weight_decay"),
    (ESSearch, {"pop": 7}, "pop must be even"),
])
def test_bad_strategy_params(Est, kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Est(**{**TINY, **kw}).fit(stub())


def test_unknown_env_id(Est):
    with pytest.raises(ValueError, match="NoSuchEnv"):
        Est(**TINY).fit("NoSuchEnv-v0")


def test_bad_env_type(Est):
    with pytest.raises(TypeError, match="env must be"):
        Est(**TINY).fit(42)


def test_unsupported_spaces(Est):
    with pytest.raises(TypeError, match="MultiBinary"):
        Est(**TINY).fit(stub(action_space=gym.spaces.MultiBinary(2)))
    dict_obs = lambda: gym.wrappers.TransformObservation(  # noqa: E731
        StubEnv(), lambda o: {"x": o}, gym.spaces.Dict({"x": StubEnv().observation_space}))
    with pytest.raises(TypeError, match="observation space"):
        Est(**TINY).fit(dict_obs)


@pytest.mark.parametrize("fault, match", [
    # every env of the generation fails alike; the deterministic network's episode runs first
    ("nan_obs", "the deterministic network, episode 0, step 3: .*non-finite observation"),
    ("nan_reward", "the deterministic network, episode 0, step 3: .*non-finite reward"),
    ("raise", "the deterministic network, episode 0, step 3: the environment raised "
              "RuntimeError"),
    ("wrong_shape", "observation has 5 values"),
])
def test_env_faults_named_and_distribution_untouched(Est, fault, match):
    est = Est(**{**TINY, "n_generations": 1}, warm_start=True).fit(stub())
    before = est.distribution_
    est.set_params(n_generations=1)
    with pytest.raises(RolloutError, match=match):
        est.fit(stub(fault=fault))
    for k, v in before.items():
        np.testing.assert_array_equal(v, est.distribution_[k])
    assert est.n_generations_ == 1 and est.predict(np.zeros((2, 3))).shape == (2, 1)


def test_env_without_time_limit_is_cut():
    class Endless(StubEnv):
        def step(self, action):
            obs, r, _, _, info = super().step(action)
            return obs, r, False, False, info

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        est = SATRSearch(**{**TINY, "n_generations": 1}, max_episode_steps=None).fit(
            lambda: Endless())
    assert any("no time limit" in str(x.message) for x in w)
    assert est.env_steps_ == 6 * 1000
    est = SATRSearch(**{**TINY, "n_generations": 1}, max_episode_steps=7).fit(lambda: Endless())
    assert est.env_steps_ == 6 * 7


def test_n_episodes_averages():
    est = SATRSearch(**{**TINY, "n_generations": 1}, n_episodes=3).fit(stub(length=5))
    assert est.history_["episodes"] == [18] and est.env_steps_ == 6 * 3 * 5


def test_sklearn_constructor_checks(Est):
    from sklearn.utils.estimator_checks import (check_no_attributes_set_in_init,
                                                check_parameters_default_constructible)

    check_no_attributes_set_in_init(Est.__name__, Est())
    check_parameters_default_constructible(Est.__name__, Est())


def test_repeated_fits_on_an_id_reuse_environments():
    from satrlearn import rollout

    est = SATRSearch(**TINY, warm_start=True).fit("CartPole-v1")
    before = [id(e) for envs in rollout._ENV_CACHE.values() for e in envs]
    est.fit("CartPole-v1")
    after = [id(e) for envs in rollout._ENV_CACHE.values() for e in envs]
    assert before and before == after
    # a different time limit is a different environment
    keys = set(rollout._ENV_CACHE)
    SATRSearch(**TINY, max_episode_steps=50).fit("CartPole-v1")
    assert set(rollout._ENV_CACHE).isdisjoint(keys)
    env = next(iter(rollout._ENV_CACHE.values()))[0]
    assert isinstance(env, gym.wrappers.TimeLimit) and env._max_episode_steps == 50


def test_n_jobs_none_follows_joblib_parallel_config():
    import joblib

    # under parallel_config(n_jobs=2) the default n_jobs=None means two worker processes,
    # so an environment that workers cannot rebuild is refused up front
    with joblib.parallel_config(n_jobs=2):
        with pytest.raises(ValueError, match="cannot be rebuilt"):
            SATRSearch(**TINY).fit(StubEnv())
        a = SATRSearch(**TINY).fit(stub())
    b = SATRSearch(**TINY, n_jobs=1).fit(stub())
    assert a.history_["return_mean"] == b.history_["return_mean"]


def test_callbacks_see_the_current_policy(Est):
    seen = []

    def cb(est, record):
        seen.append(est.policy_.params.copy())
        np.testing.assert_array_equal(est.policy_.params,
                                      est._make_strategy().mode(est.distribution_))

    Est(**{**TINY, "n_generations": 3}, callbacks=[cb]).fit(stub())
    assert len(seen) == 3


def test_a_candidates_fault_names_the_candidate():
    from satrlearn.network import NetworkConfig
    from satrlearn.normalization import ObservationNormalizer
    from satrlearn.policy import ActionMap
    from satrlearn.rollout import run_episodes

    config = NetworkConfig(n_in=3, n_out=1, n_hidden=8)
    params = np.random.default_rng(0).random((2, config.n_params)) < 0.5
    envs = [make_stub(), make_stub(fault="raise")]
    with pytest.raises(RolloutError, match="candidate 8, episode 0, step 3: the environment "
                                           "raised RuntimeError"):
        run_episodes(config, params, ActionMap(envs[0].action_space), ObservationNormalizer(3),
                     envs, [0], [np.random.default_rng(i) for i in range(2)], labels=[7, 8])


def test_floor_at_follows_the_geometric_path():
    from satrlearn.search import floor_at
    assert floor_at(0.004, 0.7) == 0.004
    assert floor_at((0.01, 0.001), 0.0) == pytest.approx(0.01)
    assert floor_at((0.01, 0.001), 0.5) == pytest.approx(np.sqrt(0.01 * 0.001))
    assert floor_at([0.01, 0.001], 1.0) == pytest.approx(0.001)
    assert floor_at((0.01, 0.001), 2.0) == pytest.approx(0.001)  # past the budget: the end


def test_a_falling_floor_moves_with_the_budget():
    seen = []

    def record_floor(est, record):
        rho = est.distribution_["rho"]
        seen.append((est._opt.rule.rho_eps, float(rho.min()), float(rho.max())))

    est = SATRSearch(**{**TINY, "pop": 8, "n_generations": 5}, eta=8.0, rho_eps=(0.05, 0.002),
                     callbacks=[record_floor]).fit(stub())
    floors = [f for f, _, _ in seen]
    # the floor before generation g is the path's value at (g - 1) / 5 of the budget
    np.testing.assert_allclose(floors, [0.05 ** (1 - t) * 0.002 ** t
                                        for t in np.arange(5) / 5])
    for floor, low, high in seen:
        assert low >= floor - 1e-12 and high <= 1 - floor + 1e-12
    assert seen[0][1] == pytest.approx(0.05)  # eta=8 pins some connections at once
    assert est.get_params()["rho_eps"] == (0.05, 0.002)  # the parameter itself is untouched
    assert clone(est).rho_eps == (0.05, 0.002)
