"""Update rules against the formulas of SPEC section 3, on hand-made inputs."""

import numpy as np
import pytest

from satrlearn.shaping import centered_ranks
from satrlearn.strategies import EC, ES, SATR
from satrlearn.strategies.bernoulli import bernoulli_kl, local_kl


def test_centered_ranks_ties_and_range():
    r = centered_ranks([5.0, 1.0, 5.0, 3.0, -2.0])
    # ranks 0-based with ties averaged: 3.5, 1, 3.5, 2, 0 -> /4 - 0.5
    np.testing.assert_allclose(r, [0.375, -0.25, 0.375, 0.0, -0.5])
    assert r.max() <= 0.5 and r.min() >= -0.5
    np.testing.assert_allclose(centered_ranks([1.0, 1.0, 1.0]), 0.0)


@pytest.mark.parametrize("bad", [[1.0], [1.0, np.nan], [[1.0, 2.0]]])
def test_centered_ranks_rejects(bad):
    with pytest.raises(ValueError):
        centered_ranks(bad)


def _signal_by_formula(strategy, rho, seeds, weights):
    thetas = np.stack([strategy.sample({"rho": rho}, s) for s in seeds]).astype(float)
    return np.mean(np.asarray(weights)[:, None] * (thetas - rho), axis=0)


def test_satr_update_matches_formula():
    rng = np.random.default_rng(0)
    rho = rng.uniform(0.05, 0.95, size=500)
    seeds = rng.integers(0, 2**63, size=8)
    weights = centered_ranks(rng.normal(size=8))
    strat = SATR(eta=2.0, rho_eps=1e-3)
    new, info = strat.update({"rho": rho}, seeds, np.ones(8), weights)
    g = _signal_by_formula(strat, rho, seeds, weights)
    expected = np.clip(rho + 2.0 * np.sqrt(rho * (1 - rho)) * g, 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(new["rho"], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(info["signal_energy"], g @ g, rtol=1e-10)
    np.testing.assert_allclose(info["kl"], bernoulli_kl(expected, rho), rtol=1e-10)
    # the trust region: local KL of the move is eta^2 / 2 * ||g||^2
    np.testing.assert_allclose(local_kl(expected - rho, rho), 2.0 ** 2 / 2 * (g @ g), rtol=1e-10)


def test_satr_clips_near_bounds():
    rho = np.array([1e-3, 1 - 1e-3, 0.5, 0.002])
    strat = SATR(eta=50.0, rho_eps=1e-3)
    g = np.array([-1.0, 1.0, 0.0, -1.0])
    delta = strat.step({"rho": rho}, g)
    new = np.clip(rho + delta, 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(new, [1e-3, 1 - 1e-3, 0.5, 1e-3])
    # through update(): probabilities never leave [eps, 1 - eps]
    seeds = np.arange(4)
    out, _ = strat.update({"rho": np.full(1000, 0.0011)}, seeds, np.ones(4),
                          np.array([-0.5, -0.1667, 0.1667, 0.5]))
    assert out["rho"].min() >= 1e-3 and out["rho"].max() <= 1 - 1e-3


def test_ec_adam_step_and_trust_region():
    rng = np.random.default_rng(1)
    rho = rng.uniform(0.1, 0.9, size=300)
    g = rng.normal(scale=0.01, size=300)
    ec = EC(learning_rate=0.15)
    state = ec.init(300, rng) | {"rho": rho}
    step = ec.step(dict(state), g)
    # first Adam step: m_hat = g, v_hat = g^2 -> lr * sign(g) (up to eps)
    np.testing.assert_allclose(step, 0.15 * g / (np.abs(g) + 1e-8), rtol=1e-6)
    tr = EC(learning_rate=0.15, trust_region=0.05)
    step_tr = tr.step(dict(state), g)
    np.testing.assert_allclose(local_kl(step_tr, rho), 0.05, rtol=1e-10)
    # same direction, only rescaled
    np.testing.assert_allclose(step_tr / np.linalg.norm(step_tr), step / np.linalg.norm(step))


def test_ec_update_advances_adam_and_clips():
    ec = EC(learning_rate=0.15, rho_eps=1e-3)
    state = ec.init(50, np.random.default_rng(0))
    state["rho"] = np.full(50, 0.01)
    seeds = np.arange(6)
    w = centered_ranks(np.arange(6.0))
    new, _ = ec.update(state, seeds, np.ones(6), w)
    assert int(new["t"]) == 1 and int(state["t"]) == 0  # the old state is untouched
    assert new["rho"].min() >= 1e-3
    g = _signal_by_formula(ec, state["rho"], seeds, w)
    np.testing.assert_allclose(new["m"], 0.1 * g, atol=1e-15)


def test_es_antithetic_gradient_and_adamw():
    es = ES(sigma=0.3, learning_rate=0.1, weight_decay=0.1)
    rng = np.random.default_rng(0)
    state = es.init(20, rng)
    state["mu"] = rng.normal(size=20)
    seeds, signs = es.candidates(rng, 6)
    assert (seeds[0::2] == seeds[1::2]).all() and (signs == [1, -1] * 3).all()
    dist = es.distribution(state)
    samples = np.stack([es.sample(dist, s, g) for s, g in zip(seeds, signs)]).astype(float)
    np.testing.assert_allclose(samples[0] + samples[1], 2 * state["mu"], atol=1e-5)
    w = centered_ranks(rng.normal(size=6))
    new, info = es.update(state, seeds, signs, w)
    eps = (samples - state["mu"]) / 0.3
    g = (w[:, None] * eps).sum(0) / (6 * 0.3)
    np.testing.assert_allclose(info["signal_energy"], g @ g, rtol=1e-4)
    expected = state["mu"] + 0.1 * g / (np.abs(g) + 1e-8) - 0.1 * 0.1 * state["mu"]
    np.testing.assert_allclose(new["mu"], expected, rtol=1e-4, atol=1e-5)


def test_bernoulli_sampling_frequency():
    strat = SATR(eta=1.0)
    rho = np.linspace(0.05, 0.95, 10)
    draws = np.stack([strat.sample({"rho": rho}, s) for s in range(4000)])
    np.testing.assert_allclose(draws.mean(0), rho, atol=0.03)
    assert strat.mode({"rho": np.array([0.2, 0.5, 0.51])}).tolist() == [False, False, True]


def test_antithetic_twins_share_uniforms():
    strat = SATR(eta=1.0, antithetic=True)
    seeds, signs = strat.candidates(np.random.default_rng(0), 6)
    assert seeds[0] == seeds[1] != seeds[2] and signs.tolist() == [1, -1] * 3
    half = {"rho": np.full(5000, 0.5)}
    a, b = strat.sample(half, 7, 1), strat.sample(half, 7, -1)
    assert np.mean(a != b) > 0.999  # at rho = 0.5 the twin is the complement
    rho = np.linspace(0.05, 0.95, 10)
    twins = np.stack([strat.sample({"rho": rho}, s, -1) for s in range(4000)])
    np.testing.assert_allclose(twins.mean(0), rho, atol=0.03)  # each twin is Bernoulli(rho)
    firsts = np.stack([strat.sample({"rho": rho}, s, 1) for s in range(4000)])
    # u and 1 - u: the pair's (theta - rho) are negatively correlated
    cov = np.mean((firsts - rho) * (twins - rho), axis=0)
    np.testing.assert_allclose(cov, np.maximum(0, 2 * rho - 1) - rho ** 2, atol=0.02)


def test_antithetic_signal_from_packed_samples_equals_regenerated():
    strat = SATR(eta=1.0, antithetic=True)
    rng = np.random.default_rng(1)
    rho = rng.uniform(0.1, 0.9, size=77)
    seeds, signs = strat.candidates(rng, 8)
    params = np.stack([strat.sample({"rho": rho}, s, g) for s, g in zip(seeds, signs)])
    w = centered_ranks(rng.normal(size=8))
    g1, split1 = strat.signal_and_split(rho, seeds, w, strat.pack_samples(params), signs)
    g2, split2 = strat.signal_and_split(rho, seeds, w, None, signs)
    np.testing.assert_array_equal(g1, g2)
    assert split1 == split2
    expected = (w[:, None] * (params - rho)).sum(0) / 8
    np.testing.assert_allclose(g1, expected, atol=1e-12)


def _snr_runs(strat, state, fitness, pop, gens, rng):
    """Mean signal_to_noise of ``gens`` updates from the same state (the state is not kept)."""
    ratios = []
    for _ in range(gens):
        seeds, signs = strat.candidates(rng, pop)
        dist = strat.distribution(state)
        samples = np.stack([strat.sample(dist, s, sg) for s, sg in zip(seeds, signs)])
        weights = centered_ranks(fitness(samples, rng))
        _, info = strat.update(dict(state), seeds, signs, weights)
        assert info["signal_to_noise"] == pytest.approx(
            info["signal_energy"] / info["noise_energy"])
        ratios.append(info["signal_to_noise"])
    return float(np.mean(ratios))


def _spread_state(strat, dim, rng):
    state = strat.init(dim, rng)
    if "rho" in state:
        state["rho"] = rng.uniform(0.1, 0.9, size=dim)
    return state


@pytest.mark.parametrize("make", [lambda: SATR(eta=1.0), lambda: EC(learning_rate=0.1),
                                  lambda: SATR(eta=1.0, antithetic=True),
                                  lambda: EC(learning_rate=0.1, antithetic=True),
                                  lambda: ES(sigma=0.3, learning_rate=0.1, weight_decay=0.1)])
def test_noise_energy_is_the_signal_energy_of_an_uninformative_ranking(make):
    # returns that ignore the candidates: E[||g||^2] is exactly noise_energy, so the ratio
    # averages to 1
    rng = np.random.default_rng(3)
    strat = make()
    state = _spread_state(strat, 400, rng)
    blind = _snr_runs(strat, state, lambda x, r: r.normal(size=len(x)), 16, 300, rng)
    assert blind == pytest.approx(1.0, abs=0.03)
    # returns set by one parameter: the excess over 1 is about N R^2 / D (R^2 the share of
    # the ranking that parameter explains), large with D = 20 and N = 64 ...
    state = _spread_state(strat, 20, rng)
    informed = _snr_runs(strat, state, lambda x, r: x[:, 0], 64, 50, rng)
    assert informed > 2.0
    # ... and invisible with D = 400 and N = 16, the regime of a real network
    state = _spread_state(strat, 400, rng)
    drowned = _snr_runs(strat, state, lambda x, r: x[:, 0], 16, 100, rng)
    assert drowned < 1.1


def test_signal_path_estimates_the_signal_energy_without_bias():
    # z = mu + unit noise per generation: the estimate averages to ||mu||^2 / d
    from satrlearn.strategies.bernoulli import PATH_DECAY, path_estimate, signal_path

    rng = np.random.default_rng(0)
    d = 4000
    var = rng.uniform(0.001, 0.25, d)
    mu = np.zeros(d)
    mu[:100] = 0.6  # ||mu||^2 / d = 0.009
    estimates = []
    for _ in range(30):
        path, count = np.zeros(d), 0
        for _ in range(80):
            g = (mu + rng.standard_normal(d)) * np.sqrt(var)
            path, count, estimate = signal_path(path, count, g, var)
        assert path_estimate(path, count) == estimate  # every connection free here
        estimates.append(estimate)
    se = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates) - 0.009) < 4 * se
    assert se < 0.0005  # about PATH_DECAY / sqrt(2 d) per run: 0.00056
    assert PATH_DECAY / np.sqrt(2 * d) < 0.001


def test_signal_path_is_zero_without_information_and_positive_with_it():
    # the ranking is noise: the path estimate is 0 within its error; a fitness that favours
    # half the connections: it is clearly positive, where one generation's split-half
    # estimate cannot tell
    from satrlearn.optim import SATR as SATROpt

    rng = np.random.default_rng(1)
    n = 3000
    weights = np.where(np.arange(n) < n // 2, 1.0, 0.0)
    noise, signal, split = [], [], []
    for fitness in ("noise", "signal"):
        opt = SATROpt(n, pop=32, eta=1.0, random_state=2)
        for _ in range(200):
            X = opt.ask()
            f = rng.standard_normal(32) * 2.0
            if fitness == "signal":
                f = f + X @ weights * 0.08
            info = opt.tell(f)
            (noise if fitness == "noise" else signal).append(info["signal_path"])
            split.append(info["signal_split"] / info["noise_energy"])
    noise, signal, split = np.array(noise[40:]), np.array(signal[40:]), np.array(split[240:])
    assert abs(noise.mean()) < 4 * noise.std() / np.sqrt(len(noise) / 20)  # ~8 independent
    assert signal.mean() > 5 * noise.std()
    assert 0 < signal.mean() < 0.05
    assert split.std() > 5 * signal.mean()  # one generation's split-half: far noisier
