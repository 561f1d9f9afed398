"""The ask/tell optimisers: they solve problems on their own, validate tell(), save and load
without pickle, and the estimators driving them reproduce the history of the code before."""

import json
import os

import numpy as np
import pytest

from satrlearn import ECSearch, ESSearch, SATRSearch, optim
from satrlearn.optim import EC, ES, SATR

TARGET = np.random.default_rng(123).random(200) < 0.5


def onemax(X):
    """Matches with a hidden binary target: a random mask scores about 100 of 200."""
    return (X == TARGET).sum(axis=1)


@pytest.mark.parametrize("make", [lambda: SATR(200, pop=32, eta=5.0, random_state=0),
                                  lambda: EC(200, pop=32, learning_rate=0.1, random_state=0)],
                         ids=["SATR", "EC"])
def test_binary_optimisers_find_a_hidden_target(make):
    opt = make()
    first = None
    for _ in range(150):
        X = opt.ask()
        assert X.dtype == np.bool_ and X.shape == (32, 200)
        info = opt.tell(onemax(X))
        first = info if first is None else first
    assert onemax(opt.mode[None])[0] >= 195  # random masks: 100 +- 7
    assert opt.generation == 150
    assert {"signal_energy", "noise_energy", "kl", "entropy"} <= set(info)
    assert info["entropy"] < first["entropy"]


def test_es_minimises_a_sphere():
    opt = ES(20, pop=20, sigma=0.1, learning_rate=0.05, weight_decay=0.0, random_state=0)
    start = np.sum((opt.mode - 1.5) ** 2)
    for _ in range(300):
        X = opt.ask()
        assert X.dtype == np.float32
        opt.tell(-np.sum((X - 1.5) ** 2, axis=1))
    assert np.sum((opt.mode - 1.5) ** 2) < 0.01 * start


def test_ask_seeds_and_sample_rebuild_the_same_candidates():
    a, b = SATR(50, pop=8, random_state=3), SATR(50, pop=8, random_state=3)
    X = a.ask()
    seeds, signs = b.ask_seeds()
    np.testing.assert_array_equal(X, np.stack([b.sample(s, g) for s, g in zip(seeds, signs)]))
    packed = b.rule.pack_samples(X)
    fit = np.arange(8.0)
    assert a.tell(fit) == b.tell(fit, samples=packed)
    np.testing.assert_array_equal(a.state["rho"], b.state["rho"])


@pytest.mark.parametrize("fitness, match", [
    (np.arange(7.0), r"expected shape \(8,\)"),
    (np.r_[np.arange(7.0), np.nan], "candidate 7 is nan"),
    (np.ones((8, 2)), "shape"),
])
def test_tell_validates_its_input(fitness, match):
    opt = SATR(10, pop=8, random_state=0)
    opt.ask()
    with pytest.raises(ValueError, match=match):
        opt.tell(fitness)


def test_tell_before_ask_and_bad_hyperparameters():
    with pytest.raises(RuntimeError, match="ask"):
        SATR(10, pop=8).tell(np.zeros(8))
    with pytest.raises(ValueError, match="eta"):
        SATR(10, eta=-1)
    with pytest.raises(ValueError, match="even pop"):
        ES(10, pop=7)
    with pytest.raises(ValueError, match="n_params"):
        EC(0)
    with pytest.raises(ValueError, match="random_state"):
        SATR(10, random_state="seed")


@pytest.mark.parametrize("make", [lambda: SATR(40, pop=8, random_state=1),
                                  lambda: EC(40, pop=8, trust_region=0.5, random_state=1),
                                  lambda: ES(40, pop=8, random_state=1)])
def test_save_load_continues_identically(tmp_path, make):
    a = make()
    for _ in range(3):
        a.tell(np.arange(8.0) - a.ask().sum(axis=1) * 0.01)
    path = optim.save(a, tmp_path / "opt.npz")
    b = optim.load(path)
    assert type(b) is type(a) and b.get_params() == a.get_params()
    assert b.generation == 3
    Xa, Xb = a.ask(), b.ask()
    np.testing.assert_array_equal(Xa, Xb)
    assert a.tell(np.arange(8.0)) == b.tell(np.arange(8.0))
    for k in a.state:
        np.testing.assert_array_equal(a.state[k], b.state[k])


def test_user_optimisers_register_to_load(tmp_path):
    class Unregistered(SATR):
        pass

    with pytest.raises(ValueError, match="not registered"):
        optim.save(Unregistered(10, pop=4), tmp_path / "x.npz")

    @optim.register
    class MySATR(SATR):
        """A user's variant: SATR with a larger default step."""

        def __init__(self, n_params, pop=64, *, eta=40.0, rho_eps=1e-3, random_state=None):
            super().__init__(n_params, pop, eta=eta, rho_eps=rho_eps, random_state=random_state)

    opt = MySATR(10, pop=4, random_state=0)
    opt.ask()
    opt.tell(np.arange(4.0))
    loaded = optim.load(optim.save(opt, tmp_path / "mine.npz"))
    assert type(loaded) is MySATR and loaded.eta == 40.0
    with pytest.raises(TypeError):
        optim.register(object)


def test_optimizer_files_are_checked(tmp_path):
    opt = SATR(10, pop=4, random_state=0)
    path = optim.save(opt, tmp_path / "o.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["state/rho"] = arrays["state/rho"] + 2.0
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        optim.load(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="not a satrlearn optimizer"):
        optim.load(opt_policy_file(tmp_path))


def opt_policy_file(tmp_path):
    """A file of another satrlearn kind."""
    est = SATRSearch(pop=4, n_hidden=8, n_generations=1, random_state=0).fit("CartPole-v1")
    return est.policy_.save(tmp_path / "policy.npz")


def test_set_state_validates():
    opt = EC(10, pop=4)
    with pytest.raises(ValueError, match="arrays"):
        opt.set_state({"rho": np.full(10, 0.5)})
    with pytest.raises(ValueError, match="shape"):
        opt.set_state({"rho": np.full(9, 0.5), "m": np.zeros(10), "v": np.zeros(10),
                       "t": np.zeros((), np.int64)})


REFERENCE = os.path.join(os.path.dirname(__file__), "data", "reference_history.json")


@pytest.mark.parametrize("Est", [SATRSearch, ECSearch, ESSearch])
def test_estimators_reproduce_the_history_from_before_the_optimiser_classes(Est):
    """tests/data/reference_history.json was written by the fit loop as it was before the
    estimators drove satrlearn.optim (commit 33c4760): the same seed gives the same history."""
    with open(REFERENCE) as fh:
        reference = json.load(fh)[Est.__name__]
    # SATR's step was the fixed eta=15 then (its default until eta="budget")
    extra = {"eta": 15.0} if Est is SATRSearch else {}
    # and the network's input gain was 0.1 (its default until 2026-12-04)
    est = Est(pop=16, n_hidden=32, n_generations=3, random_state=7, eval_every=2,
              network_params={"k_in": 0.1}, **extra).fit("CartPole-v1")
    for key, values in reference.items():
        np.testing.assert_array_equal(np.asarray(est.history_[key], dtype=float),
                                      np.asarray(values, dtype=float), err_msg=key)


@pytest.mark.parametrize("make", [lambda: SATR(16, pop=64, eta=1e-6, random_state=0),
                                  lambda: ES(16, pop=64, learning_rate=1e-9, random_state=0)],
                         ids=["SATR", "ES"])
def test_split_half_signal_tells_information_from_noise(make):
    """Random fitness: ||g||^2 sits at its noise level while the split-half estimate averages
    near 0; informative fitness: the split-half estimate is clearly positive."""
    rng = np.random.default_rng(5)
    noise_opt, info_opt = make(), make()
    target = rng.standard_normal(16)
    split_noise, split_info, snr = [], [], []
    for _ in range(40):   # steps of ~0 size: the same distribution every generation
        noise_opt.ask()
        d = noise_opt.tell(rng.standard_normal(64))
        split_noise.append(d["signal_split"] / d["noise_energy"])
        snr.append(d["signal_to_noise"])
        X = info_opt.ask().astype(float)
        d = info_opt.tell(X @ target)
        split_info.append(d["signal_split"] / d["noise_energy"])
    assert 0.8 < np.mean(snr) < 1.2
    assert abs(np.mean(split_noise)) < 0.3     # 40 draws of sd ~0.5 around 0
    assert np.mean(split_info) > 1.0


def test_antithetic_needs_an_even_population_and_loads_from_older_files(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="antithetic sampling needs an even pop"):
        optim.SATR(n_params=10, pop=5, antithetic=True)
    with pytest.raises(ValueError, match="antithetic must be True or False"):
        optim.EC(n_params=10, pop=4, antithetic="yes")
    opt = optim.SATR(n_params=10, pop=4, antithetic=True, random_state=0)
    X = opt.ask()
    assert X.shape == (4, 10) and np.mean(X[0] != X[1]) > 0.5  # twins at rho = 0.5
    opt.tell(np.arange(4.0))
    assert optim.load(optim.save(opt, tmp_path / "anti.npz")).antithetic is True
    # a file written before the parameter existed loads with its default
    plain = optim.SATR(n_params=10, pop=4, random_state=0)
    real = optim.SATR.get_params
    monkeypatch.setattr(optim.SATR, "get_params", lambda self: {
        k: v for k, v in real(self).items() if k != "antithetic"})
    path = optim.save(plain, tmp_path / "old.npz")
    monkeypatch.undo()
    assert optim.load(path).antithetic is False


def test_optimizer_file_from_before_the_signal_path_loads(tmp_path):
    from satrlearn._files import write_archive

    opt = SATR(10, pop=4, random_state=0)
    opt.ask()
    opt.tell(np.arange(4.0))
    path = optim.save(opt, tmp_path / "o.npz")
    meta, arrays = {}, {}
    with np.load(path) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        arrays = {k: z[k] for k in z.files if k.startswith("state/")}
    del meta["state_names"], arrays["state/path"], arrays["state/path_count"]
    write_archive(tmp_path / "old.npz", meta, arrays)
    loaded = optim.load(tmp_path / "old.npz")
    np.testing.assert_array_equal(loaded.state["rho"], opt.state["rho"])
    assert int(loaded.state["path_count"]) == 0
    with pytest.raises(ValueError, match="unknown"):
        write_archive(tmp_path / "bad.npz", {**meta, "state_names": ["rho", "what"]}, arrays)
        optim.load(tmp_path / "bad.npz")
