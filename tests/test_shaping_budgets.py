"""Reward offsets, step and time budgets, and evaluation during training (fast, stub envs)."""

import functools
import math

import gymnasium as gym
import numpy as np
import pytest

import satrlearn.optim as optim
import satrlearn.search as search
from satrlearn import ECSearch, ESSearch, SATRSearch, load_checkpoint
from satrlearn.shaping import offset_at, shaped_fitness, survival_bonus

from .stub_env import StubEnv

ESTIMATORS = [SATRSearch, ECSearch, ESSearch]
TINY = dict(pop=6, n_hidden=16, random_state=0)


class SurvivalStub(StubEnv):
    """A stub with a MuJoCo-style survival bonus: ``bonus`` per step alive, on top of a task
    reward ``-|x|``; the episode ends (terminated) when ``|x| > 1.5``."""

    def __init__(self, bonus=1.0, length=20, **kwargs):
        super().__init__(length=length, **kwargs)
        self._healthy_reward = bonus
        self._terminate_when_unhealthy = True

    def step(self, action):
        obs, reward, _, truncated, info = super().step(action)
        reward = self._healthy_reward - abs(self.x)
        return obs, reward, abs(self.x) > 1.5, truncated, info


def survival_stub(**kw):
    env = SurvivalStub(**kw)
    return gym.wrappers.TimeLimit(env, max_episode_steps=env.length)


@pytest.fixture(params=ESTIMATORS, ids=lambda c: c.__name__)
def Est(request):
    return request.param


# --- shaping ------------------------------------------------------------------------------
def test_offset_flips_the_winner_but_not_the_returns():
    # a candidate that stands until the time limit against one that moves and falls early
    returns = np.array([1000.0, 900.0])
    lengths = np.array([1000, 300])
    assert np.argmax(shaped_fitness(returns, lengths, 1, 0.0)) == 0
    fitness = shaped_fitness(returns, lengths, 1, 1.0)
    assert np.argmax(fitness) == 1
    np.testing.assert_allclose(fitness, [0.0, 600.0])
    np.testing.assert_array_equal(returns, [1000.0, 900.0])  # inputs untouched
    # lengths count every episode of a candidate; returns are per episode
    np.testing.assert_allclose(shaped_fitness([10.0], [40], 2, 0.5), [0.0])


def test_schedules():
    assert offset_at(2.0, "constant", 0.9) == 2.0
    assert offset_at(2.0, "linear", 0.0) == 2.0
    assert offset_at(2.0, "linear", 0.75) == pytest.approx(0.5)
    assert offset_at(2.0, "linear", 1.5) == 0.0
    with pytest.raises(ValueError, match="offset_schedule"):
        offset_at(1.0, "cosine", 0.5)
    # "survival": the share of the time limit the episodes lasted, over a quarter, up to 1
    assert offset_at(2.0, "survival", 0.9, survival=0.125) == pytest.approx(1.0)
    assert offset_at(2.0, "survival", 0.0, survival=0.25) == 2.0
    assert offset_at(2.0, "survival", 0.5, survival=1.7) == 2.0
    assert offset_at(2.0, "survival", 0.5, survival=0.0) == 0.0
    assert offset_at(2.0, "constant", 0.5, survival=0.1) == 2.0  # only "survival" reads it


@pytest.mark.parametrize("env_id, kwargs, bonus", [
    ("Hopper-v5", {}, 1.0), ("Walker2d-v5", {}, 1.0), ("Humanoid-v5", {}, 5.0),
    ("Hopper-v5", {"healthy_reward": 0.25}, 0.25), ("HalfCheetah-v5", {}, 0.0),
    ("InvertedDoublePendulum-v5", {}, 0.0), ("CartPole-v1", {}, 0.0),
])
def test_auto_reads_the_tasks_own_survival_bonus(env_id, kwargs, bonus):
    env = gym.make(env_id, **kwargs)
    try:
        assert survival_bonus(env) == bonus
    finally:
        env.close()


def test_auto_on_a_task_without_bonus_means_no_offset(Est):
    est = Est(**TINY, n_generations=2).fit("CartPole-v1")
    assert est.reward_offset_ == 0.0
    h = est.history_
    assert h["reward_offset"] == [0.0, 0.0]
    assert h["fitness_mean"] == h["return_mean"] and h["fitness_max"] == h["return_max"]


def test_fitness_is_shaped_history_and_score_stay_true(Est, monkeypatch):
    ranked = []
    real = optim.centered_ranks  # tell() ranks the fitness it is given
    monkeypatch.setattr(optim, "centered_ranks", lambda x: ranked.append(x) or real(x))
    est = Est(**TINY, n_generations=3).fit(functools.partial(survival_stub, bonus=1.0))
    assert est.reward_offset_ == 1.0
    h = est.history_
    steps = np.diff([0] + h["env_steps"])
    for g in range(3):
        # the history's returns are the env's own; the fitness is that less 1 per step
        mean_length = steps[g] / est.pop
        assert h["fitness_mean"][g] == pytest.approx(h["return_mean"][g] - mean_length)
        assert h["reward_offset"][g] == 1.0
        # ... and the ranking saw the fitness
        assert ranked[g].mean() == pytest.approx(h["fitness_mean"][g])
        assert ranked[g].max() == pytest.approx(h["fitness_max"][g])
    # reported returns include the bonus: the true return of the selected network
    assert est.selection_["eval_scores"][0] == pytest.approx(
        np.nanmax(np.fmax(h["eval_mean"], h["eval_top_mean"])))
    assert est.best_score_ == pytest.approx(max(est.selection_["final_means"]))
    assert est.score(functools.partial(survival_stub, bonus=1.0), n_episodes=2) > -40


def test_explicit_offset_and_zero(Est):
    env = functools.partial(survival_stub, bonus=1.0)
    off = Est(**TINY, n_generations=1, reward_offset=0).fit(env)
    assert off.reward_offset_ == 0.0 and off.history_["fitness_mean"] == \
        off.history_["return_mean"]
    two = Est(**TINY, n_generations=1, reward_offset=2.5).fit(env)
    assert two.reward_offset_ == 2.5
    # the same seed samples the same candidates: shaping changed the fitness only
    assert two.history_["return_mean"] == off.history_["return_mean"]


def test_linear_schedule_decays_to_zero():
    est = SATRSearch(**TINY, n_generations=4, offset_schedule="linear").fit(
        functools.partial(survival_stub, bonus=2.0))
    assert est.history_["reward_offset"] == [2.0, 1.5, 1.0, 0.5]


def test_survival_schedule_follows_the_episode_lengths(Est):
    # the offset is the bonus times the mean episode length over a quarter of the limit
    # (max_episode_steps=2000; the stub's own TimeLimit ends episodes at 100 steps, earlier
    # when |x| grows past 1.5)
    est = Est(**TINY, n_generations=4, eval_every=None, max_episode_steps=2000).fit(
        functools.partial(survival_stub, bonus=2.0, length=100))
    assert est.offset_schedule == "survival"  # the default
    h = est.history_
    assert est.reward_offset_ == 2.0  # the resolved offset, before the schedule
    lengths = np.diff([0] + h["env_steps"]) / est.pop  # mean episode length per generation
    np.testing.assert_allclose(h["reward_offset"], 2.0 * lengths / 500)
    assert 0 < min(h["reward_offset"]) and max(h["reward_offset"]) <= 0.4
    np.testing.assert_allclose(h["fitness_mean"],
                               np.array(h["return_mean"]) - np.array(h["reward_offset"]) * lengths)
    # "constant" takes the whole bonus off in every generation
    const = Est(**TINY, n_generations=2, eval_every=None, max_episode_steps=2000,
                offset_schedule="constant").fit(
        functools.partial(survival_stub, bonus=2.0, length=100))
    assert const.history_["reward_offset"] == [2.0, 2.0]


def test_episode_limit_reads_wrappers_and_specs():
    from satrlearn.rollout import episode_limit

    assert episode_limit(survival_stub(length=37)) == 37  # a TimeLimit without a spec
    assert episode_limit(gym.make("CartPole-v1")) == 500
    assert episode_limit(SurvivalStub()) is None


def test_survival_schedule_reads_the_time_limit(monkeypatch):
    # the TimeLimit the env comes with (survival_stub wraps one at ``length`` steps)
    est = SATRSearch(**TINY, n_generations=1, eval_every=None).fit(
        functools.partial(survival_stub, length=400))
    assert est._episode_limit == 400
    length = est.env_steps_ / est.pop
    assert est.history_["reward_offset"] == [pytest.approx(min(length / 100, 1.0))]
    # without a limit to measure against, the whole offset applies, and the user is told
    monkeypatch.setattr(search, "episode_limit", lambda env: None)
    with pytest.warns(UserWarning, match="no time limit, so the whole offset applies"):
        est = SATRSearch(**TINY, n_generations=1).fit(survival_stub)
    assert est.history_["reward_offset"] == [1.0]


# --- budgets ------------------------------------------------------------------------------
def test_step_budget_stops_after_the_generation_that_crosses_it(Est):
    est = Est(**TINY, total_timesteps=500).fit(functools.partial(survival_stub, length=20))
    steps = est.history_["env_steps"]
    assert steps[-1] >= 500 > steps[-2]
    assert est.env_steps_ == steps[-1]


def test_time_budget_stops_after_the_generation_that_crosses_it():
    est = SATRSearch(**TINY, max_time=0.5).fit("CartPole-v1")
    times = est.history_["wall_time"]
    assert times[-1] >= 0.5
    assert len(times) == 1 or times[-2] < 0.5


def test_first_budget_reached_wins():
    est = SATRSearch(**TINY, n_generations=50, total_timesteps=200).fit(
        functools.partial(survival_stub, length=20))
    assert est.n_generations_ < 50 and est.env_steps_ >= 200
    est = SATRSearch(**TINY, n_generations=2, total_timesteps=10**9).fit("CartPole-v1")
    assert est.n_generations_ == 2


def test_no_budget_means_default_generations(monkeypatch):
    monkeypatch.setattr(search, "DEFAULT_GENERATIONS", 3)
    est = SATRSearch(**TINY).fit("CartPole-v1")
    assert est.n_generations_ == 3


def test_warm_start_budgets_count_from_where_the_search_stands():
    est = SATRSearch(**TINY, total_timesteps=300, warm_start=True)
    est.fit("CartPole-v1")
    first = est.env_steps_
    est.fit("CartPole-v1")
    assert est.env_steps_ >= first + 300


def test_step_budget_survives_interrupt_and_resume(tmp_path):
    full = SATRSearch(**TINY, total_timesteps=600).fit("CartPole-v1")

    def stop_at_2(est, record):
        if record["generation"] == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        SATRSearch(**TINY, total_timesteps=600, checkpoint_dir=tmp_path,
                   callbacks=[stop_at_2]).fit("CartPole-v1")
    est = load_checkpoint(tmp_path)
    assert est.n_generations_ == 2
    est.resume()
    assert est.n_generations_ == full.n_generations_ and est.env_steps_ == full.env_steps_
    for key in ("return_mean", "fitness_mean", "eval_mean", "env_steps"):
        np.testing.assert_array_equal(est.history_[key], full.history_[key])
    np.testing.assert_array_equal(est.policy_.params, full.policy_.params)


def test_time_budget_survives_resume(tmp_path):
    def stop_at_1(est, record):
        if record["generation"] == 1:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        SATRSearch(**TINY, max_time=0.4, checkpoint_dir=tmp_path,
                   callbacks=[stop_at_1]).fit("CartPole-v1")
    est = load_checkpoint(tmp_path)
    spent = est.wall_time_
    est.resume()
    assert est.wall_time_ >= 0.4
    # the resumed part runs only what the budget has left, not another 0.4 s
    assert est.history_["wall_time"][-2] < 0.4 or est.n_generations_ == 1
    assert est.wall_time_ > spent


@pytest.mark.parametrize("param, value, message", [
    ("total_timesteps", -5, "total_timesteps must be >= 0"),
    ("total_timesteps", 1.5, "total_timesteps must be an integer"),
    ("max_time", -1.0, "max_time must be >= 0"),
    ("max_time", math.nan, "max_time must be finite"),
    ("reward_offset", -1.0, "reward_offset must be >= 0"),
    ("reward_offset", math.nan, "reward_offset must be finite"),
    ("reward_offset", "survival", "reward_offset must be 'auto' or a number"),
    ("offset_schedule", "cosine",
     "offset_schedule must be one of constant, linear, survival"),
    ("eval_every", 0, "eval_every must be >= 1"),
    ("eval_every", "often", "eval_every must be 'auto', an integer"),
    ("eval_episodes", 0, "eval_episodes must be >= 1"),
    ("n_generations", -1, "n_generations must be >= 0"),
])
def test_bad_values_name_the_parameter(Est, param, value, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Est(**TINY, n_generations=1).set_params(**{param: value}).fit("CartPole-v1")


# --- evaluation during training -------------------------------------------------------------
def test_evaluation_columns_and_schedule(Est):
    est = Est(**TINY, n_generations=5, eval_every=2, eval_episodes=3).fit("CartPole-v1")
    h = est.history_
    assert h["eval_episodes"] == [0, 3, 0, 3, 3]  # every 2 generations and after the last
    evaluated = np.array(h["eval_episodes"]) > 0
    assert np.isnan(np.array(h["eval_mean"])[~evaluated]).all()
    for key in ("eval_mean", "eval_top_mean"):
        assert np.isfinite(np.array(h[key])[evaluated]).all()
        assert np.isnan(np.array(h[key])[~evaluated]).all()
    for key in ("eval_std", "eval_top_std"):
        assert (np.array(h[key])[evaluated] >= 0).all()


def test_auto_evaluation_cadence_follows_training_episodes(monkeypatch):
    # "auto" evaluates once per EVAL_EVERY_EPISODES training episodes: every 2 generations
    # of 6 candidates here, every generation with 2 episodes each
    monkeypatch.setattr(search, "EVAL_EVERY_EPISODES", 12)
    est = SATRSearch(**TINY, n_generations=5, eval_episodes=2).fit("CartPole-v1")
    assert est.eval_every == "auto" and est.eval_interval() == 2
    assert est.history_["eval_episodes"] == [0, 2, 0, 2, 2]
    est = SATRSearch(**TINY, n_generations=3, eval_episodes=2, n_episodes=2).fit(
        "CartPole-v1")
    assert est.eval_interval() == 1 and est.history_["eval_episodes"] == [2, 2, 2]
    # the library's cadence: every 10 generations at 64, every 40 at 16
    monkeypatch.setattr(search, "EVAL_EVERY_EPISODES", 640)
    assert [SATRSearch(pop=p).eval_interval() for p in (16, 32, 64, 128, 2000)] == \
        [40, 20, 10, 5, 1]
    assert SATRSearch(eval_every=None).eval_interval() is None


def test_best_policy_is_chosen_by_evaluation(monkeypatch):
    # without the final selection, the network with the best evaluation mean
    monkeypatch.setattr(search, "FINAL_SHORTLIST", 1)
    est = SATRSearch(**TINY, n_generations=4, eval_every=1, eval_episodes=4).fit(
        "CartPole-v1")
    assert est.selection_ is None
    h = est.history_
    scores = np.fmax(h["eval_mean"], h["eval_top_mean"])
    best = int(np.argmax(scores))
    assert est.best_score_ == scores[best]
    # the best policy is the network that earned that evaluation: a run that stops at that
    # generation holds the same one, and it is its deterministic network or its top candidate
    again = SATRSearch(**TINY, n_generations=best + 1, eval_every=1, eval_episodes=4).fit(
        "CartPole-v1")
    np.testing.assert_array_equal(est.best_policy_.params, again.best_policy_.params)
    if h["eval_mean"][best] >= h["eval_top_mean"][best]:
        np.testing.assert_array_equal(est.best_policy_.params, again.policy_.params)
    # without evaluation the single deterministic episode decides, as before
    plain = SATRSearch(**TINY, n_generations=4, eval_every=None).fit("CartPole-v1")
    assert np.isnan(plain.history_["eval_mean"]).all()
    assert plain.best_score_ == max(plain.history_["return_det"])
    assert plain.selection_ is None


@pytest.mark.parametrize("Est", [SATRSearch, ECSearch])
def test_final_selection_reevaluates_the_best_evaluated_networks(Est):
    est = Est(**TINY, n_generations=6, eval_every=1, eval_episodes=3).fit("CartPole-v1")
    h, sel = est.history_, est.selection_
    scores = np.concatenate([h["eval_mean"], h["eval_top_mean"]])
    # the shortlist holds the best evaluation means of the fit, best first
    k = search.FINAL_SHORTLIST
    np.testing.assert_allclose(sel["eval_scores"], np.sort(scores)[::-1][:k])
    assert sel["episodes"] == search.FINAL_EPISODES_FACTOR * 3
    # the chosen network has the best mean on the selection's episodes, and that is its score
    assert sel["chosen"] == int(np.argmax(sel["final_means"]))
    assert est.best_score_ == max(sel["final_means"])


def test_final_selection_leaves_the_search_unchanged():
    # the selection draws its episodes from a copy of the generator: the search's own
    # stream, the distribution and the history are those of a fit without it
    kw = dict(TINY, n_generations=4, eval_every=2, eval_episodes=2)
    with_sel = SATRSearch(**kw).fit("CartPole-v1")
    search.FINAL_SHORTLIST, keep = 1, search.FINAL_SHORTLIST
    try:
        without = SATRSearch(**kw).fit("CartPole-v1")
    finally:
        search.FINAL_SHORTLIST = keep
    assert with_sel.selection_ is not None and without.selection_ is None
    assert with_sel._rng.bit_generator.state == without._rng.bit_generator.state
    np.testing.assert_array_equal(with_sel.distribution_["rho"], without.distribution_["rho"])
    for key in ("return_mean", "eval_mean", "eval_top_mean"):
        np.testing.assert_array_equal(with_sel.history_[key], without.history_[key])


def test_evaluate_networks_takes_one_normalizer_per_network():
    # the final selection runs networks from different generations, each with the
    # normaliser of its own generation, in one call: the same returns as one call each
    from joblib import Parallel

    from satrlearn.parallel import evaluate_networks

    a = SATRSearch(**TINY, n_generations=2, eval_every=None).fit("CartPole-v1")
    b = SATRSearch(**dict(TINY, random_state=1), n_generations=3,
                   eval_every=None).fit("CartPole-v1")
    source, config, action_map = a._prepare_env("CartPole-v1")
    nets = [a.policy_.params, b.policy_.params]
    norms = [a._normalizer, b._normalizer]
    seeds, membranes = np.array([3, 4, 5]), np.array([7, 8, 9], dtype=np.uint64)
    with Parallel(n_jobs=1) as par:
        both = evaluate_networks(par, 1, nets, source, config, action_map, norms, seeds,
                                 membranes)
        each = [evaluate_networks(par, 1, [p], source, config, action_map, nm, seeds,
                                  membranes)[0] for p, nm in zip(nets, norms)]
        np.testing.assert_array_equal(both, np.stack(each))
        with pytest.raises(ValueError, match="one per network"):
            evaluate_networks(par, 1, nets, source, config, action_map, norms[:1], seeds,
                              membranes)


def test_interrupted_fit_skips_the_final_selection():
    class Stop:
        def on_generation(self, est, record):
            if record["generation"] == 3:
                raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        est = SATRSearch(**TINY, n_generations=6, eval_every=1, eval_episodes=2,
                         callbacks=[Stop()]).fit("CartPole-v1")
    assert est.interrupted_ and est.selection_ is None
    h = est.history_
    assert est.best_score_ == np.nanmax(np.fmax(h["eval_mean"], h["eval_top_mean"]))


def test_evaluation_is_the_same_for_any_n_jobs():
    kw = dict(TINY, n_generations=2, eval_every=1, eval_episodes=3)
    one = SATRSearch(**kw, n_jobs=1).fit("CartPole-v1")
    two = SATRSearch(**kw, n_jobs=2).fit("CartPole-v1")
    for key in ("eval_mean", "eval_std", "eval_top_mean", "return_det", "return_mean"):
        np.testing.assert_array_equal(one.history_[key], two.history_[key])
