"""Network description: settings validation, SPEC constants, and the bit packing round trips."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from satrlearn.network import (
    NetworkConfig,
    float_step,
    pack_bits,
    pack_hidden,
    pack_inputs,
    pack_spikes,
    split_params,
    unpack_bits,
    unpack_hidden,
    unpack_inputs,
    unpack_spikes,
)

from .naive import NaiveRSNN

# --- settings and constants --------------------------------------------------------------


def test_defaults_follow_the_spec():
    cfg = NetworkConfig(n_in=348, n_out=17)
    assert cfg.n_hidden == 256 and cfg.excitatory_ratio == 0.5 and cfg.expected_density == 0.5
    assert cfg.substeps == 33                       # round(16.6 / 0.5)
    assert (cfg.n_exc, cfg.n_inh) == (128, 128)
    assert (cfg.exc_words, cfg.n_words) == (2, 4)
    p, n_in, n = 0.5, 348, 256
    # the one departure: k_in = 0.3, not the SPEC's 0.1 (docs/concepts.md, "The input gain")
    assert cfg.k_in == 0.3
    assert math.isclose(cfg.r_in, 0.3 * 1.0 * 10.0 * math.sqrt(2 / (p * n_in)), rel_tol=1e-15)
    assert math.isclose(cfg.r_h, 1.0 * 1.0 * (10.0 / 5.0) * math.sqrt(2 / (p * n)),
                        rel_tol=1e-15)
    assert math.isclose(cfg.r_out, 5.0 * math.sqrt(1 / (p * n)), rel_tol=1e-15)
    a_syn, a_m, a_out = cfg.decays
    assert a_syn == math.exp(-0.5 / 5) and a_m == math.exp(-0.5 / 10)
    assert a_out == math.exp(-0.5 / 10)
    assert cfg.shapes == ((696, 256), (256, 256), (256, 17))
    assert cfg.n_params == 696 * 256 + 256 * 256 + 256 * 17


@settings(max_examples=50, deadline=None)
@given(n_in=st.integers(1, 400), n=st.integers(1, 300), n_out=st.integers(1, 20),
       ratio=st.floats(0, 1), p=st.floats(0.01, 1), dt=st.floats(0.05, 2),
       tau=st.floats(0.5, 50))
def test_derived_constants_follow_the_formulas(n_in, n, n_out, ratio, p, dt, tau):
    cfg = NetworkConfig(n_in=n_in, n_out=n_out, n_hidden=n, excitatory_ratio=ratio,
                        expected_density=p, dt=dt, sim_time=max(16.6, dt), tau_m=tau,
                        tau_syn=tau / 2, k_in=0.3, k_h=0.7, k_out=2.0, v_th=1.5)
    assert cfg.n_exc == round(n * ratio) and cfg.n_exc + cfg.n_inh == n
    assert cfg.n_words == math.ceil(cfg.n_exc / 64) + math.ceil(cfg.n_inh / 64)
    assert cfg.substeps == round(max(16.6, dt) / dt)
    assert math.isclose(cfg.r_in, 0.3 * 1.5 * tau * math.sqrt(2 / (p * n_in)))
    assert math.isclose(cfg.r_h, 0.7 * 1.5 * 2.0 * math.sqrt(2 / (p * n)))
    assert math.isclose(cfg.r_out, 2.0 * math.sqrt(1 / (p * n)))
    signs = cfg.signs
    assert (signs[: cfg.n_exc] == 1).all() and (signs[cfg.n_exc:] == -1).all()


@pytest.mark.parametrize("bad", [
    dict(n_in=0), dict(n_out=-1), dict(n_hidden=0), dict(n_in=2.5), dict(n_in=True),
    dict(n_hidden="256"), dict(excitatory_ratio=1.5), dict(excitatory_ratio=-0.1),
    dict(expected_density=0.0), dict(expected_density=1.2), dict(dt=0.0), dict(dt=-0.5),
    dict(tau_m=-10.0), dict(tau_syn=0.0), dict(tau_out=-1.0), dict(tau_m=float("inf")),
    dict(sim_time=float("nan")), dict(sim_time=0.1, dt=0.5), dict(v_th=float("nan")),
    dict(k_in=float("inf")),
])
def test_invalid_settings_raise_value_error(bad):
    kwargs = dict(n_in=3, n_out=2)
    kwargs.update(bad)
    with pytest.raises(ValueError) as info:
        NetworkConfig(**kwargs)
    assert next(iter(bad)) in str(info.value) or "sim_time" in str(info.value)


def test_config_dict_round_trip_and_unknown_keys():
    cfg = NetworkConfig(n_in=4, n_out=2, n_hidden=70, excitatory_ratio=0.25, tau_m=12.0)
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown"):
        NetworkConfig.from_dict({**cfg.to_dict(), "gain": 2})


def test_split_params_checks_length_and_returns_views():
    cfg = NetworkConfig(n_in=3, n_out=2, n_hidden=10)
    theta = np.arange(cfg.n_params)
    w_in, w_h, w_out = split_params(theta, cfg)
    assert w_in.shape == (6, 10) and w_h.shape == (10, 10) and w_out.shape == (10, 2)
    assert w_in[0, 0] == 0 and w_h[0, 0] == 60 and w_out[-1, -1] == cfg.n_params - 1
    assert np.shares_memory(w_h, theta)
    with pytest.raises(ValueError, match="length"):
        split_params(theta[:-1], cfg)


# --- bit packing ---------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.bool_, st.integers(0, 700)))
def test_pack_bits_round_trip(mask):
    packed = pack_bits(mask)
    assert packed.dtype == np.uint8 and packed.size == -(-mask.size // 8)
    np.testing.assert_array_equal(unpack_bits(packed, mask.size), mask)


def test_pack_bits_order_is_little_endian_within_bytes():
    mask = np.zeros(10, dtype=bool)
    mask[[0, 3, 9]] = True
    np.testing.assert_array_equal(pack_bits(mask), [0b00001001, 0b00000010])
    with pytest.raises(ValueError, match="bits"):
        unpack_bits(pack_bits(mask), 17)


@st.composite
def hidden_cases(draw):
    n = draw(st.integers(1, 200))
    ratio = draw(st.sampled_from([0.0, 1.0, 0.5]) | st.floats(0, 1))
    m = draw(st.integers(1, 5))
    k = draw(st.none() | st.integers(1, 3))
    shape = (n, m) if k is None else (k, n, m)
    w = draw(hnp.arrays(np.bool_, shape))
    return NetworkConfig(n_in=1, n_out=1, n_hidden=n, excitatory_ratio=ratio), w


@settings(max_examples=150, deadline=None)
@given(hidden_cases())
def test_pack_hidden_round_trip(case):
    cfg, w = case
    packed = pack_hidden(w, cfg)
    assert packed.dtype == np.uint64
    assert packed.shape == w.shape[:-2] + (cfg.n_words, w.shape[-1])
    np.testing.assert_array_equal(unpack_hidden(packed, cfg), w)


@settings(max_examples=100, deadline=None)
@given(hidden_cases())
def test_pack_hidden_layout_excitatory_words_first(case):
    """Neuron j sits in word j // 64 (excitatory) or exc_words + (j - n_exc) // 64."""
    cfg, w = case
    w = w if w.ndim == 2 else w[0]
    packed = pack_hidden(w, cfg)
    expected = np.zeros_like(packed)
    for j in range(cfg.n_hidden):
        local = j if j < cfg.n_exc else j - cfg.n_exc
        word = local // 64 + (0 if j < cfg.n_exc else cfg.exc_words)
        for col in np.flatnonzero(w[j]):
            expected[word, col] |= np.uint64(1) << np.uint64(local % 64)
    np.testing.assert_array_equal(packed, expected)
    # padding bits stay zero: each word holds at most its group's neurons
    bits = np.array([[int(x).bit_count() for x in row] for row in packed])
    assert bits.sum() == w.sum()


@settings(max_examples=100, deadline=None)
@given(hidden_cases())
def test_pack_spikes_round_trip(case):
    cfg, w = case
    spikes = w[..., 0] if w.ndim == 3 else w[:, :1].T
    packed = pack_spikes(spikes, cfg)
    assert packed.shape == (spikes.shape[0], cfg.n_words)
    np.testing.assert_array_equal(unpack_spikes(packed, cfg), spikes)


@settings(max_examples=100, deadline=None)
@given(n_in=st.integers(1, 40), n=st.integers(1, 70), k=st.none() | st.integers(1, 3),
       data=st.data())
def test_pack_inputs_round_trip_and_layout(n_in, n, k, data):
    cfg = NetworkConfig(n_in=n_in, n_out=1, n_hidden=n)
    shape = (2 * n_in, n) if k is None else (k, 2 * n_in, n)
    w = data.draw(hnp.arrays(np.bool_, shape))
    packed = pack_inputs(w, cfg)
    assert packed.dtype == np.uint8
    assert packed.shape == shape[:-2] + (2, -(-n_in // 8), n)
    np.testing.assert_array_equal(unpack_inputs(packed, cfg), w)
    w2 = w if k is None else w[0]
    p2 = packed if k is None else packed[0]
    i = data.draw(st.integers(0, 2 * n_in - 1))
    j = data.draw(st.integers(0, n - 1))
    half, row = divmod(i, n_in)
    assert bool((int(p2[half, row // 8, j]) >> (row % 8)) & 1) == w2[i, j]


def test_pack_hidden_rejects_wrong_row_count():
    cfg = NetworkConfig(n_in=1, n_out=1, n_hidden=70)
    with pytest.raises(ValueError, match="70"):
        pack_hidden(np.zeros((69, 3), dtype=bool), cfg)


# --- float reference ------------------------------------------------------------------------

@pytest.mark.parametrize("ratio", [0.5, 0.0, 1.0])
def test_float_step_matches_naive(ratio):
    """The dense batched numpy forward (the benchmark's float twin) is the same network."""
    cfg = NetworkConfig(n_in=5, n_out=3, n_hidden=100, excitatory_ratio=ratio)
    rng = np.random.default_rng(1)
    k = 3
    theta = rng.random((k, cfg.n_params)) < 0.5
    w_in, w_h, w_out = (a.astype(np.float64) for a in split_params(theta, cfg))
    twins = [NaiveRSNN.from_params(cfg, t) for t in theta]
    for q, twin in enumerate(twins):
        twin.reset(seed=q)
    v = np.array([t.v for t in twins])
    i_syn, r = np.zeros_like(v), np.zeros_like(v)
    spikes = np.zeros(v.shape, dtype=bool)
    for _ in range(4):
        x = rng.standard_normal((k, cfg.n_in))
        y = float_step(x, w_in, w_h, w_out, v, i_syn, r, spikes, cfg)
        y_ref = np.array([t.step(x[q]) for q, t in enumerate(twins)])
        np.testing.assert_array_equal(spikes, [t.s for t in twins])
        np.testing.assert_allclose(y, y_ref, rtol=1e-9, atol=1e-12)
    assert sum(t.spikes for t in twins) > 0
