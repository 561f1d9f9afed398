"""SATR variants: `eta="budget"` (a step set by the population and the budget) and antithetic
sampling, in the estimators (fast)."""

import functools

import numpy as np
import pytest

import satrlearn.optim as optim
from satrlearn import ECSearch, ESSearch, SATRSearch, load_checkpoint
from satrlearn.search import (BUDGET_FIRST_FRACTION, BUDGET_LOGIT_VARIANCE, SIGNAL_RANGE,
                              STEADY_FLOOR, STEADY_LOGIT_VARIANCE, budget_eta, floor_at,
                              resolve_floor, signal_eta, steady_eta)
from satrlearn.strategies.bernoulli import bernoulli_entropy

from .stub_env import StubEnv

TINY = dict(pop=6, n_hidden=16, random_state=0, eval_every=None)


def stub(length=20):
    import gymnasium as gym
    return gym.wrappers.TimeLimit(StubEnv(length=length), max_episode_steps=length)


def test_budget_eta_grows_with_the_population_and_the_share_of_the_budget():
    assert budget_eta(128, 0.02) > budget_eta(64, 0.02) > budget_eta(32, 0.02)
    assert budget_eta(64, 0.04) == pytest.approx(np.sqrt(2) * budget_eta(64, 0.02))
    assert budget_eta(64, None) == budget_eta(64, BUDGET_FIRST_FRACTION)
    # centred ranks of 64 candidates: sum w^2 = 64 * 65 / (12 * 63)
    assert budget_eta(64, 0.01) == pytest.approx(0.4 * 64 / np.sqrt(64 * 65 / 756))


def test_budget_power_spends_the_same_variance_sooner(monkeypatch):
    """BUDGET_POWER < 1: the shares of the log-odds variance still add up to the whole
    budget's, but the first half of the budget gets more than half of it."""
    import satrlearn.search as search

    def shares(power, gens=50):
        monkeypatch.setattr(search, "BUDGET_POWER", power)
        energy = 64 * 65 / (12 * 63)
        return np.array([budget_eta(64, 1 / gens, g / gens) ** 2 * energy / 64 ** 2
                         for g in range(gens)]) / BUDGET_LOGIT_VARIANCE

    even, early = shares(1.0), shares(0.5)
    assert even.sum() == pytest.approx(1.0) and early.sum() == pytest.approx(1.0)
    assert even[:25].sum() == pytest.approx(0.5)
    assert early[:25].sum() == pytest.approx(np.sqrt(0.5))
    assert early[0] > 5 * even[0] and early[-1] < even[-1]
    # past the end of the budget nothing is left to spend
    assert budget_eta(64, 0.1, 1.0) == 0.0


def test_budget_power_of_the_estimator_shapes_its_schedule(monkeypatch):
    """SATRSearch(budget_power=p) gives budget_eta the power p in every generation; None
    takes the module's BUDGET_POWER; the argument wins over the module's constant."""
    import satrlearn.search as search

    def etas(**kw):
        seen = []
        SATRSearch(**TINY, eta="budget", n_generations=5, callbacks=[lambda est, rec: seen.append(
            est._opt.rule.eta)], **kw).fit(stub)
        return np.array(seen)

    front = etas(budget_power=0.5)
    expected = [budget_eta(6, 1 / 5, g / 5, 0.5) for g in range(5)]
    np.testing.assert_allclose(front, expected)
    assert front[0] > front[-1]  # more of the variance early
    even = etas()
    np.testing.assert_allclose(even, budget_eta(6, 1 / 5))
    monkeypatch.setattr(search, "BUDGET_POWER", 0.5)
    np.testing.assert_allclose(etas(), front)
    np.testing.assert_allclose(etas(budget_power=1.0), even)


@pytest.mark.parametrize("kw, match", [
    (dict(budget_power=0), "budget_power must be > 0"),
    (dict(budget_power=float("nan")), "budget_power must be finite"),
    (dict(budget_power=0.5, eta=7.0), "eta='budget' only"),
    (dict(budget_power=0.5, eta="signal"), "eta='budget' only"),
])
def test_budget_power_errors_name_the_fix(kw, match):
    with pytest.raises(ValueError, match=match):
        SATRSearch(**TINY, n_generations=1, **kw).fit(stub)
    with pytest.raises(TypeError, match="budget_power must be a number"):
        SATRSearch(**TINY, n_generations=1, budget_power="half").fit(stub)


def test_noise_alone_settles_the_distribution_at_the_end_of_any_budget():
    """Under a ranking that carries no information, G generations at budget_eta(N, 1 / G)
    bring the entropy to the same value whatever N and G (the log-odds' random walk reaches
    BUDGET_LOGIT_VARIANCE): about 0.18 nats half-way, 0.06 at the end."""
    rng = np.random.default_rng(0)
    halfway, final = [], []
    for pop, gens in ((16, 40), (64, 80), (64, 20), (128, 30)):
        opt = optim.SATR(n_params=4000, pop=pop, eta=budget_eta(pop, 1 / gens),
                         random_state=1)
        for g in range(gens):
            opt.ask()
            opt.tell(rng.standard_normal(pop))
            if g + 1 == gens // 2:
                halfway.append(bernoulli_entropy(opt.state["rho"]))
        final.append(bernoulli_entropy(opt.state["rho"]))
    assert np.ptp(halfway) < 0.03 and 0.12 < np.mean(halfway) < 0.25, halfway
    assert np.ptp(final) < 0.02 and 0.03 < np.mean(final) < 0.1, final
    # a fixed eta instead: the small population freezes long before the large one
    entropies = []
    for pop in (16, 128):
        opt = optim.SATR(n_params=4000, pop=pop, eta=15.0, random_state=1)
        for _ in range(30):
            opt.ask()
            opt.tell(rng.standard_normal(pop))
        entropies.append(bernoulli_entropy(opt.state["rho"]))
    assert entropies[0] < 0.5 * entropies[1], entropies


def test_steady_eta_moves_the_log_odds_alike_at_any_population():
    """eta="steady": one generation under a ranking that carries no information moves each
    connection's log-odds (from rho = 0.5) by STEADY_LOGIT_VARIANCE whatever the
    population; 8 at 16, the setting it was chosen from."""
    assert steady_eta(16) == pytest.approx(8.0)
    assert steady_eta(64) > steady_eta(32) > steady_eta(16)
    rng = np.random.default_rng(0)
    for pop in (16, 64):
        moves = []
        for seed in range(20):
            opt = optim.SATR(n_params=5000, pop=pop, eta=steady_eta(pop), rho_eps=1e-6,
                             random_state=seed)
            opt.ask()
            opt.tell(rng.standard_normal(pop))
            # the log-odds move to first order, d(rho) / (rho (1 - rho)) from rho = 0.5
            moves.append((opt.state["rho"] - 0.5) / 0.25)
        assert np.var(moves) == pytest.approx(STEADY_LOGIT_VARIANCE, rel=0.1), pop


def test_steady_is_the_default_with_a_floor_falling_over_the_budget():
    seen = []
    est = SATRSearch(**TINY, n_generations=4, callbacks=[
        lambda est, rec: seen.append((est._opt.rule.eta, est._opt.rule.rho_eps))]).fit(stub)
    assert est.eta == "steady" and est.rho_eps == "auto"
    assert [eta for eta, _ in seen] == [pytest.approx(steady_eta(6))] * 4
    np.testing.assert_allclose([floor for _, floor in seen],
                               [floor_at(STEADY_FLOOR, g / 4) for g in range(4)])
    # "auto" is the paper's 0.001 with every other eta
    for eta in ("budget", "signal", 7.0):
        fitted = SATRSearch(**TINY, eta=eta, n_generations=2).fit(stub)
        assert fitted._opt.rule.rho_eps == 1e-3, eta
    assert resolve_floor("auto", "steady") == STEADY_FLOOR
    assert resolve_floor("auto", 8.0) == 1e-3
    assert resolve_floor((0.02, 0.01), "budget") == (0.02, 0.01)
    with pytest.raises(ValueError, match="rho_eps must be 'auto'"):
        SATRSearch(**TINY, rho_eps="falling", n_generations=2).fit(stub)


def test_generation_budget_gives_a_constant_step():
    est = SATRSearch(**TINY, eta="budget", n_generations=4).fit(stub)
    assert est._opt.rule.eta == pytest.approx(budget_eta(6, 1 / 4))
    assert est._opt.get_params()["eta"] == est._opt.rule.eta
    assert len(est.history_["kl"]) == 4


def test_step_budget_follows_the_steps_of_the_previous_generation():
    seen = []

    def spy(est, record):
        seen.append((est._opt.rule.eta, record["env_steps"]))

    est = SATRSearch(**TINY, eta="budget", total_timesteps=600, callbacks=[spy]).fit(
        functools.partial(stub, length=20))
    assert est.env_steps_ >= 600
    etas = [eta for eta, _ in seen]
    per_generation = np.diff([0] + [steps for _, steps in seen])
    assert etas[0] == pytest.approx(budget_eta(6, None))
    for k in range(1, len(seen)):
        assert etas[k] == pytest.approx(budget_eta(6, per_generation[k - 1] / 600))


def test_fixed_eta_is_left_alone():
    est = SATRSearch(**TINY, eta=7.0, n_generations=2).fit(stub)
    assert est._opt.rule.eta == 7.0


def test_budget_eta_resumes_bit_identically(tmp_path):
    full = SATRSearch(**TINY, eta="budget", total_timesteps=600).fit(stub)

    def stop_at_2(est, record):
        if record["generation"] == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        SATRSearch(**TINY, eta="budget", total_timesteps=600, checkpoint_dir=tmp_path,
                   callbacks=[stop_at_2]).fit(stub)
    est = load_checkpoint(tmp_path)
    assert est.eta == "budget"
    est.resume(stub)
    np.testing.assert_array_equal(est.history_["kl"], full.history_["kl"])
    np.testing.assert_array_equal(est.policy_.params, full.policy_.params)


def test_signal_eta_is_the_budget_share_scaled_by_the_signal():
    # nothing spent, no reference yet: the budget's step
    assert signal_eta(32, 0.01, 0.0, 0.0, 0.3, float("nan")) == pytest.approx(
        budget_eta(32, 0.01))
    assert signal_eta(32, None, 0.0, 0.0, 0.3, 0.0) == pytest.approx(budget_eta(32, None))
    # half the budget used and half the variance spent: the same share as at the start
    half = signal_eta(32, 0.01, 0.5, BUDGET_LOGIT_VARIANCE / 2, 1.0, 1.0)
    assert half == pytest.approx(budget_eta(32, 0.01))
    # twice the reference signal: twice the variance; far above or below: clipped
    assert signal_eta(32, 0.01, 0.0, 0.0, 2e-3, 1e-3) == pytest.approx(
        np.sqrt(2) * budget_eta(32, 0.01))
    assert signal_eta(32, 0.01, 0.0, 0.0, 1.0, 1e-3) == pytest.approx(
        np.sqrt(SIGNAL_RANGE) * budget_eta(32, 0.01))
    assert signal_eta(32, 0.01, 0.0, 0.0, -1.0, 1e-3) == pytest.approx(
        budget_eta(32, 0.01) / np.sqrt(SIGNAL_RANGE))
    # never more than what is left, nothing once it is spent
    assert signal_eta(32, 0.5, 0.9, BUDGET_LOGIT_VARIANCE - 1.0, 1.0, 0.1) == pytest.approx(
        budget_eta(32, 1.0 / BUDGET_LOGIT_VARIANCE))
    assert signal_eta(32, 0.01, 0.2, BUDGET_LOGIT_VARIANCE + 1.0, 1.0, 1.0) == 0.0


def test_signal_eta_spends_the_budget_and_resumes_bit_identically(tmp_path):
    gens = 30
    full = SATRSearch(**TINY, eta="signal", n_generations=gens).fit(stub)
    etas = np.array(full.history_["eta"])
    assert np.all(np.isfinite(etas)) and np.all(etas >= 0)
    # the first 20 generations (no full path memory yet) take the budget's step exactly
    first = [signal_eta(6, 1 / gens, k / gens, (etas[:k] ** 2).sum() * (7 / 60) / 6,
                        0.0, float("nan")) for k in range(20)]
    np.testing.assert_allclose(etas[:20], first)
    assert etas[:20] == pytest.approx(np.full(20, budget_eta(6, 1 / gens)))
    assert np.ptp(etas[20:]) > 0  # then the signal estimate moves it
    spent = (etas ** 2).sum() * (7 / 60) / 6  # sum w^2 / N^2 for 6 candidates without ties
    assert BUDGET_LOGIT_VARIANCE / SIGNAL_RANGE <= spent <= BUDGET_LOGIT_VARIANCE * (1 + 1e-9)

    def stop_at_25(est, record):
        if record["generation"] == 25:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        SATRSearch(**TINY, eta="signal", n_generations=gens, checkpoint_dir=tmp_path,
                   callbacks=[stop_at_25]).fit(stub)
    est = load_checkpoint(tmp_path)
    est.resume(stub)
    np.testing.assert_array_equal(est.history_["eta"], full.history_["eta"])
    np.testing.assert_array_equal(est.policy_.params, full.policy_.params)


@pytest.mark.parametrize("value, error, message", [
    ("fast", ValueError, "eta must be a positive number, 'steady', 'budget' or 'signal'"),
    (-1.0, ValueError, "eta must be > 0"),
])
def test_bad_eta_names_the_parameter(value, error, message):
    with pytest.raises(error, match=message):
        SATRSearch(**TINY, eta=value, n_generations=1).fit(stub)


@pytest.mark.parametrize("Est", [SATRSearch, ECSearch])
def test_antithetic_fit_pairs_twins_and_checks_the_population(Est):
    pairs = []

    def spy(est, record):
        seeds, signs = est._opt.rule.candidates(np.random.default_rng(0), est.pop)
        pairs.append((seeds, signs))

    est = Est(**TINY, antithetic=True, n_generations=3, callbacks=[spy]).fit(stub)
    assert len(est.history_["kl"]) == 3 and np.isfinite(est.history_["noise_energy"]).all()
    seeds, signs = pairs[0]
    assert seeds[0] == seeds[1] and signs.tolist()[:2] == [1, -1]
    with pytest.raises(ValueError, match="antithetic sampling needs an even pop"):
        Est(**{**TINY, "pop": 5}, antithetic=True, n_generations=1).fit(stub)


def test_antithetic_history_is_the_same_for_any_n_jobs():
    one = SATRSearch(**TINY, antithetic=True, n_generations=3, n_jobs=1).fit(stub)
    two = SATRSearch(**TINY, antithetic=True, n_generations=3, n_jobs=2).fit(stub)
    for key in ("return_mean", "signal_energy", "kl"):
        np.testing.assert_array_equal(one.history_[key], two.history_[key])


def test_history_gives_nan_where_a_rule_has_no_value():
    # ES has no signal path and no eta; EC has a signal path but no eta
    es = ESSearch(**TINY, n_generations=2).fit(stub)
    assert np.isnan(es.history_["signal_path"]).all() and np.isnan(es.history_["eta"]).all()
    assert np.isfinite(es.history_["signal_split"]).all()
    ec = ECSearch(**TINY, n_generations=2).fit(stub)
    assert np.isfinite(ec.history_["signal_path"]).all() and np.isnan(ec.history_["eta"]).all()
    satr = SATRSearch(**TINY, eta=3.0, n_generations=2).fit(stub)
    assert satr.history_["eta"] == [3.0, 3.0]
