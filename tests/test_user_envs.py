"""Environments as users pass them: instances, factories, env_kwargs, odd spaces, bad values.

Fast: the stub env or CartPole-v1, tiny populations and networks.
"""

import functools
import threading
import warnings

import gymnasium as gym
import joblib
import numpy as np
import pytest

from satrlearn import ECSearch, ESSearch, RolloutError, SATRSearch, rollout, search
from satrlearn import load_checkpoint
from satrlearn.checkpoint import read_checkpoint
from satrlearn.rollout import EnvSource, cached_envs

from .stub_env import StubEnv, make_stub

ESTIMATORS = [SATRSearch, ECSearch, ESSearch]
TINY = {"pop": 8, "n_generations": 1, "n_hidden": 16, "random_state": 0}


def stub(**kw):
    return functools.partial(make_stub, **kw)


@pytest.fixture(autouse=True)
def _fresh_env_cache():
    rollout.release_envs()
    yield
    rollout.release_envs()


class StepCounter(gym.Wrapper):
    """A user's own wrapper (it does not record its constructor arguments)."""

    def __init__(self, env):
        super().__init__(env)
        self.steps = 0
        self.closed = 0

    def step(self, action):
        self.steps += 1
        return self.env.step(action)

    def close(self):
        self.closed += 1
        super().close()


class ClosingStub(StubEnv):
    """The stub env (no spec), counting its ``close`` calls."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.closed = 0

    def close(self):
        self.closed += 1


class Image(gym.Env):
    """Observations ``Box(0, 255, (4, 5), uint8)``; reward: the action matches a pixel's parity."""

    def __init__(self):
        self.observation_space = gym.spaces.Box(0, 255, (4, 5), np.uint8)
        self.action_space = gym.spaces.Discrete(2)

    def _obs(self):
        self.frame = self.np_random.integers(0, 256, (4, 5), dtype=np.uint8)
        return self.frame

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        reward = float(int(action) == int(self.frame[0, 0]) % 2)
        return self._obs(), reward, False, self.t >= 10, {}


def make_image():
    return gym.wrappers.TimeLimit(Image(), max_episode_steps=10)


class ComplexObs(StubEnv):
    """Observations with imaginary parts; ``declare`` puts the complex dtype in the space."""

    def __init__(self, declare=True):
        super().__init__()
        if declare:
            self.observation_space.dtype = np.dtype(np.complex128)  # Box() refuses it

    def _obs(self):
        return super()._obs() * (1 + 1j)


# --- 5: an instance is used as given -------------------------------------------------------

def test_instance_runs_as_given_in_process():
    env = gym.make("CartPole-v1")
    env.unwrapped.x_threshold = 0.0  # changed by hand: every episode ends at its first step
    est = SATRSearch(**TINY, n_jobs=1).fit(env)
    assert est.env_steps_ == 8  # 8 candidates, one step each: the instance itself ran
    assert est.score(env, n_episodes=3) == 1.0
    assert est._env_id is None  # its id would not rebuild it for resume()


def test_users_own_wrapper_runs_in_process():
    env = StepCounter(gym.make("CartPole-v1"))  # its spec cannot recreate StepCounter
    est = SATRSearch(**TINY, n_jobs=1).fit(env)
    assert env.steps >= est.env_steps_ > 0
    before = env.steps
    est.score(env, n_episodes=2)
    assert env.steps > before and env.closed == 0


def test_instance_the_spec_cannot_rebuild_is_refused_for_workers():
    env = StepCounter(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match=r"cannot be rebuilt.*StepCounter.*factory.*n_jobs=1"):
        SATRSearch(**TINY, n_jobs=2).fit(env)
    # a spec set by hand on an unwrapped env: the spec would add wrappers it does not have
    bare = gym.make("CartPole-v1").unwrapped
    bare.spec = gym.spec("CartPole-v1")
    with pytest.raises(ValueError, match=r"gives TimeLimit > .* not CartPoleEnv.*n_jobs=1"):
        SATRSearch(**TINY, n_jobs=2).fit(bare)


def test_instance_rebuilt_for_workers_says_so():
    env = gym.make("CartPole-v1")
    reference = SATRSearch(**TINY, n_jobs=1).fit("CartPole-v1")
    # joblib's threads: workers without the start-up of processes
    with joblib.parallel_config(backend="threading"), \
            pytest.warns(UserWarning, match="rebuild the environment .*CartPole.* n_jobs=1"):
        est = SATRSearch(**TINY, n_jobs=2).fit(env)
    assert est.history_["return_mean"] == reference.history_["return_mean"]
    assert env.unwrapped.state is None  # the workers ran copies, never the instance


# --- 6: satrlearn closes only what it built ------------------------------------------------

def test_users_instance_is_never_closed_by_a_later_fit():
    env = ClosingStub()
    SATRSearch(**TINY, max_episode_steps=20).fit(env)
    SATRSearch(**TINY).fit(stub())  # another source: the cache lets go of the instance
    rollout.release_envs()
    assert env.closed == 0


def test_envs_satrlearn_built_are_closed_whatever_comes_next():
    built = []

    def factory():
        built.append(ClosingStub(length=20))
        return gym.wrappers.TimeLimit(built[-1], max_episode_steps=20)

    SATRSearch(**TINY).fit(factory)
    assert built
    SATRSearch(**TINY, max_episode_steps=20).fit(ClosingStub())  # a user's instance next
    assert all(e.closed == 1 for e in built)


def test_score_closes_what_it_built_and_leaves_an_instance_open():
    est = SATRSearch(**TINY).fit(stub())
    built = []

    def factory():
        built.append(ClosingStub())
        return gym.wrappers.TimeLimit(built[-1], max_episode_steps=20)

    est.score(factory, n_episodes=1)
    env = ClosingStub()
    est.score(gym.wrappers.TimeLimit(env, max_episode_steps=20), n_episodes=1)
    assert [e.closed for e in built] == [1] and env.closed == 0


def test_a_factory_that_returns_one_object_is_refused():
    env = make_stub()
    with pytest.raises(ValueError, match="same environment object twice.*new environment"):
        SATRSearch(**TINY).fit(lambda: env)


def test_each_thread_has_its_own_environments():
    source = EnvSource(stub())
    mine = cached_envs(source, 3)
    theirs = []
    t = threading.Thread(target=lambda: theirs.extend(cached_envs(source, 3)))
    t.start()
    t.join()
    assert len(theirs) == 3 and not {id(e) for e in mine} & {id(e) for e in theirs}


def test_threading_backend_gives_the_n_jobs_1_result():
    kw = {**TINY, "pop": 16, "n_generations": 2}
    reference = SATRSearch(**kw, n_jobs=1).fit(stub(length=200))
    with joblib.parallel_config(backend="threading"):
        threaded = SATRSearch(**kw, n_jobs=2).fit(stub(length=200))
    assert threaded.history_["return_mean"] == reference.history_["return_mean"]


# --- 7: factories as the backend ships them, env_kwargs ------------------------------------

def test_lambdas_and_closures_go_to_workers():
    length = 20
    closure = lambda: make_stub(length=length)  # noqa: E731  (the point of the test)
    reference = SATRSearch(**TINY, n_jobs=1).fit(closure)
    est = SATRSearch(**TINY, n_jobs=2).fit(closure)  # loky ships it with cloudpickle
    assert est.history_["return_mean"] == reference.history_["return_mean"]


def test_backend_that_uses_plain_pickle_refuses_a_lambda_clearly():
    with joblib.parallel_config(backend="multiprocessing"), \
            pytest.raises(ValueError, match=r"cannot be sent to worker processes.*module "
                                            r"level.*n_jobs=1"):
        SATRSearch(**TINY, n_jobs=2).fit(lambda: make_stub())
    with joblib.parallel_config(backend="threading"):  # threads pickle nothing
        SATRSearch(**TINY, n_jobs=2).fit(lambda: make_stub())


def test_env_kwargs_reach_gymnasium_make():
    # Sutton and Barto's CartPole pays 0 per step and -1 at the end
    est = SATRSearch(**TINY).fit("CartPole-v1", env_kwargs={"sutton_barto_reward": True})
    assert max(est.history_["return_max"]) <= 0.0
    assert est.score("CartPole-v1", n_episodes=2,
                     env_kwargs={"sutton_barto_reward": True}) <= 0.0
    # checkpoints record the id with its kwargs, so that resume() rebuilds the same env
    assert (est._env_id, est._env_kwargs) == ("CartPole-v1", {"sutton_barto_reward": True})
    assert SATRSearch(**TINY).fit("CartPole-v1")._env_kwargs is None
    tokens = {EnvSource("CartPole-v1").token,
              EnvSource("CartPole-v1", env_kwargs={"sutton_barto_reward": True}).token}
    assert len(tokens) == 2  # never the same cached environments


@pytest.mark.parametrize("env, env_kwargs, error, match", [
    ("CartPole-v1", [("sutton_barto_reward", True)], TypeError, "env_kwargs must be a dict"),
    ("CartPole-v1", {1: True}, TypeError, "env_kwargs keys must be"),
    ("CartPole-v1", {"no_such_arg": 1}, TypeError, "env_kwargs=.*no_such_arg"),
    (stub(), {"length": 5}, ValueError, "env_kwargs applies to .* functools.partial"),
    (StubEnv(), {"length": 5}, ValueError, "env_kwargs applies to .* instance"),
])
def test_bad_env_kwargs(env, env_kwargs, error, match):
    with pytest.raises(error, match=match):
        SATRSearch(**TINY).fit(env, env_kwargs=env_kwargs)


# --- 8: multi-dimensional integer observations ---------------------------------------------

@pytest.mark.parametrize("Est", ESTIMATORS, ids=lambda c: c.__name__)
def test_uint8_image_observations(Est):
    est = Est(**TINY).fit(make_image)
    assert est.network_config_.n_in == 20
    score = est.score(make_image, n_episodes=2)
    assert np.isfinite(score) and 0.0 <= score <= 10.0
    frames = np.random.default_rng(0).integers(0, 256, (3, 4, 5), dtype=np.uint8)
    assert est.predict(frames).shape == (3,)


# --- 9: score fails as fit does; resuming on another env -----------------------------------

@pytest.mark.parametrize("fault, match", [
    ("nan_reward", "the policy, episode 0, step 3: .*non-finite reward"),
    ("nan_obs", "the policy, episode 0, step 3: .*non-finite observation"),
    ("raise", "the policy, episode 0, step 3: the environment raised RuntimeError"),
    ("wrong_shape", "observation has 5 values"),
])
def test_score_raises_what_fit_raises(fault, match):
    with pytest.raises(RolloutError, match=match.replace("the policy", "the deterministic "
                                                                       "network")):
        SATRSearch(**TINY).fit(stub(fault=fault))
    est = SATRSearch(**TINY).fit(stub())
    with pytest.raises(RolloutError, match=match):
        est.score(stub(fault=fault), n_episodes=2)


def test_resume_on_another_env_id_warns():
    with pytest.warns(UserWarning, match="'CartPole-v1'.*'Acrobot-v1'"):
        search._check_resume_env("CartPole-v1", "Acrobot-v1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search._check_resume_env("CartPole-v1", "CartPole-v1")
        search._check_resume_env(None, "CartPole-v1")  # a factory or an instance was used
        search._check_resume_env("CartPole-v1", None)


# --- smaller ones --------------------------------------------------------------------------

def test_n_jobs_is_capped_at_the_number_of_tasks(monkeypatch):
    asked = []

    def recording_parallel(n_jobs=None, **kwargs):
        asked.append(n_jobs)
        return joblib.Parallel(n_jobs=1, **kwargs)

    monkeypatch.setattr(search, "Parallel", recording_parallel)
    est = SATRSearch(**TINY, n_jobs=1000, eval_every=None).fit(stub())
    assert asked == [9]  # 8 candidates and the deterministic network's episode
    SATRSearch(**TINY, n_jobs=1000, eval_episodes=12).fit(stub())
    assert asked[-1] == 24  # two networks of 12 evaluation episodes
    SATRSearch(**TINY, n_jobs=2).fit(stub())
    assert asked[-1] == 2
    assert est.n_generations_ == 1


@pytest.mark.parametrize("Est, kw, error, match", [
    (ESSearch, {"sigma": 1e200}, ValueError, r"sigma must be <= 1e\+06"),
    (ESSearch, {"learning_rate": 1e200}, ValueError, r"learning_rate must be <= 1e\+06"),
    (ESSearch, {"weight_decay": 100.0}, ValueError, "learning_rate \\* weight_decay must be <= 1"),
    (SATRSearch, {"reward_offset": 1e300}, ValueError, r"reward_offset must be <= 1e\+12"),
    (SATRSearch, {"random_state": -1}, ValueError, "random_state must be an integer >= 0"),
    (SATRSearch, {"random_state": "seed"}, TypeError, "random_state must be None, an integer"),
    (SATRSearch, {"random_state": 1.5}, TypeError, "random_state must be"),
    (SATRSearch, {"random_state": np.random.RandomState(0)}, TypeError,
     "random_state must be .*numpy.random.Generator"),
    (SATRSearch, {"network_params": {"v_th": -1}}, ValueError,
     r"network_params=\{'v_th': -1\} is not valid: v_th must be positive"),
    (SATRSearch, {"network_params": {"tau": 3.0}}, ValueError,
     "network_params has no field 'tau'; the fields are .*tau_m"),
])
def test_bad_values_fail_at_fit_start(Est, kw, error, match):
    made = []
    with pytest.raises(error, match=match):
        Est(**{**TINY, **kw}).fit(lambda: made.append(1) or make_stub())
    assert not made  # refused before any environment was built


def test_bad_score_seed_names_the_parameter():
    est = SATRSearch(**TINY).fit(stub())
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        est.score(stub(), seed=-1)
    with pytest.raises(TypeError, match="seed must be None, an integer"):
        est.score(stub(), seed="zero")


def test_complex_observations_are_refused():
    def declared():
        return gym.wrappers.TimeLimit(ComplexObs(), max_episode_steps=20)

    def undeclared():
        return gym.wrappers.TimeLimit(ComplexObs(declare=False), max_episode_steps=20)

    with pytest.raises(TypeError, match="observation dtype complex128.*real numbers"):
        SATRSearch(**TINY).fit(declared)
    with pytest.raises(RolloutError, match="observation of dtype complex128"):
        SATRSearch(**TINY).fit(undeclared)
    est = SATRSearch(**TINY).fit(stub())
    with pytest.raises(TypeError, match="observation dtype complex128"):
        est.score(declared, n_episodes=1)
    with pytest.raises(RolloutError, match="observation of dtype complex128"):
        est.score(undeclared, n_episodes=1)


def test_complex_or_array_rewards_are_refused():
    class ComplexReward(StubEnv):
        def step(self, action):
            obs, r, term, trunc, info = super().step(action)
            return obs, complex(r, 1.0), term, trunc, info

    with pytest.raises(RolloutError, match="reward that is not one real number"):
        SATRSearch(**TINY).fit(lambda: gym.wrappers.TimeLimit(ComplexReward(), 20))


def test_empty_observation_space_is_refused():
    class Empty(StubEnv):
        def __init__(self):
            super().__init__()
            self.observation_space = gym.spaces.Box(-1, 1, (0,), np.float64)

    with pytest.raises(ValueError, match="holds no values"):
        SATRSearch(**TINY).fit(lambda: gym.wrappers.TimeLimit(Empty(), 20))


def test_resume_reuses_env_kwargs_and_warns_on_another_id(tmp_path):
    kwargs = {"sutton_barto_reward": True}
    full = SATRSearch(**dict(TINY, n_generations=3)).fit("CartPole-v1", env_kwargs=kwargs)

    def stop_at_1(est, record):
        if record["generation"] == 1:
            raise KeyboardInterrupt

    for folder in (tmp_path / "a", tmp_path / "b"):
        with pytest.warns(RuntimeWarning, match="interrupted"):
            SATRSearch(**dict(TINY, n_generations=3), checkpoint_dir=folder,
                       callbacks=[stop_at_1]).fit("CartPole-v1", env_kwargs=kwargs)
    resumed = load_checkpoint(tmp_path / "a").resume()   # the checkpoint's id and kwargs
    assert resumed.history_["return_mean"] == full.history_["return_mean"]
    assert max(resumed.history_["return_max"]) <= 0.0
    est = load_checkpoint(tmp_path / "b")
    with pytest.warns(UserWarning, match="checkpointed on 'CartPole-v1'.*'CartPole-v0'"):
        est.resume("CartPole-v0")
    assert est._env_id == "CartPole-v0"
    assert read_checkpoint(tmp_path / "b")[0]["env"] == "CartPole-v0"


_DEPRECATED_MODEL = ('<mujoco><compiler settotalmass="2"/><worldbody><body><freejoint/>'
                     '<geom size=".1"/></body></worldbody></mujoco>')


def _env_with_a_mujoco_warning():
    """A stub env whose construction makes MuJoCo warn, as HalfCheetah-v5's model does."""
    mujoco = pytest.importorskip("mujoco")
    try:
        mujoco.MjModel.from_xml_string(_DEPRECATED_MODEL)
    except ValueError:  # a MuJoCo that no longer knows the attribute
        pytest.skip("this MuJoCo refuses the deprecated attribute instead of warning")
    return StubEnv()


def test_mujoco_warnings_become_python_warnings(tmp_path, monkeypatch, capfd):
    pytest.importorskip("mujoco")
    import mujoco

    monkeypatch.chdir(tmp_path)
    before = mujoco.get_mju_user_warning()
    source = EnvSource(_env_with_a_mujoco_warning, max_episode_steps=10)
    with pytest.warns(RuntimeWarning, match="MuJoCo: .*settotalmass"):
        source.make().close()
    # nothing printed by MuJoCo itself, no log file left in the working folder, and the
    # previous handler is back
    assert "settotalmass" not in capfd.readouterr().err
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
    assert mujoco.get_mju_user_warning() is before


def test_tools_build_envs_from_an_id_with_mujoco_warnings_as_python_warnings(
        tmp_path, monkeypatch, capfd):
    """energy, raster, nir and the CLI build an env from an id through rollout.make_env."""
    pytest.importorskip("mujoco")
    from satrlearn.energy import count_operations
    from satrlearn.network import NetworkConfig
    from satrlearn.normalization import ObservationNormalizer
    from satrlearn.policy import RSNNPolicy
    from satrlearn.raster import record_episode

    cfg = NetworkConfig(n_in=3, n_out=1, n_hidden=8)
    params = np.random.default_rng(0).random(cfg.n_params) < 0.5
    policy = RSNNPolicy(cfg, params, ObservationNormalizer(3),
                        gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32))
    monkeypatch.chdir(tmp_path)
    gym.register("SatrlearnWarnsOnBuild-v0", entry_point=_env_with_a_mujoco_warning,
                 max_episode_steps=5)
    try:
        for tool in (record_episode, count_operations):
            with pytest.warns(RuntimeWarning, match="MuJoCo: .*settotalmass"):
                tool(policy, "SatrlearnWarnsOnBuild-v0")
    finally:
        gym.registry.pop("SatrlearnWarnsOnBuild-v0", None)
    assert "settotalmass" not in capfd.readouterr().err
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
