"""The Numba kernels reproduce the slow numpy twin (tests/naive.py).

Binary masks run through the bitset kernel; float parameters through the float kernel. For
binary masks the spike trains must agree exactly and the readouts to rounding; for real weights
to rounding.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from satrlearn import _kernels
from satrlearn.network import NetworkConfig, pack_spikes, unpack_spikes
from satrlearn.engine import NetworkBatch

from .naive import NaiveRSNN

REPO = Path(__file__).resolve().parents[1]

SHAPES = [(11, 256, 3), (5, 100, 2), (3, 70, 1), (348, 256, 17), (4, 64, 2), (2, 130, 3)]


def spikes_of(batch: NetworkBatch) -> np.ndarray:
    """Last spikes of every row as bool ``(K, n)``, whatever the kernel's representation."""
    s = batch.s
    if s.dtype == np.uint64:
        return unpack_spikes(s, batch.config)
    return s.astype(bool)


def make_case(n_in, n, n_out, ratio, k, seed, density=0.5):
    cfg = NetworkConfig(n_in=n_in, n_hidden=n, n_out=n_out, excitatory_ratio=ratio)
    rng = np.random.default_rng(seed)
    theta = rng.random((k, cfg.n_params)) < density
    # normalised observations are roughly standard normal, clipped to [-10, 10] by the policy
    xs = np.clip(rng.standard_normal((8, k, n_in)) * 1.5, -10, 10)
    return cfg, theta, xs


def run_and_compare(cfg, params, xs, n_steps, exact=True, seeds=None):
    """Step a NetworkBatch and one naive twin per row; compare after every env step."""
    k = params.shape[0]
    seeds = list(range(100, 100 + k)) if seeds is None else seeds
    batch = NetworkBatch(cfg, params)
    batch.reset(seeds=seeds)
    twins = [NaiveRSNN.from_params(cfg, params[q]) for q in range(k)]
    for q, twin in enumerate(twins):
        twin.reset(seed=seeds[q])
    np.testing.assert_array_equal(batch.v, np.array([t.v for t in twins]))
    for step in range(n_steps):
        y = batch.step(xs[step]).copy()
        y_ref = np.array([t.step(xs[step][q]) for q, t in enumerate(twins)])
        s_ref = np.array([t.s for t in twins])
        counts_ref = np.array([[t.spikes, t.synaptic_events] for t in twins])
        if exact:
            if batch.s.dtype == np.uint64:
                np.testing.assert_array_equal(batch.s, pack_spikes(s_ref, cfg),
                                              err_msg=f"packed spikes differ at step {step}")
            np.testing.assert_array_equal(spikes_of(batch), s_ref,
                                          err_msg=f"spikes differ at step {step}")
            np.testing.assert_array_equal(batch.counts, counts_ref,
                                          err_msg=f"spike/event counts differ at step {step}")
            np.testing.assert_allclose(y, y_ref, rtol=1e-9, atol=1e-9,
                                       err_msg=f"readout differs at step {step}")
            np.testing.assert_allclose(batch.v, np.array([t.v for t in twins]),
                                       rtol=0, atol=1e-9)
        else:
            np.testing.assert_allclose(y, y_ref, rtol=1e-9, atol=1e-9)
    return batch, twins


@pytest.mark.parametrize("ratio", [0.5, 0.0, 1.0])
@pytest.mark.parametrize("n_in,n,n_out", SHAPES)
def test_bitset_kernel_matches_naive(n_in, n, n_out, ratio):
    steps = 2 if n_in > 100 else 5
    cfg, theta, xs = make_case(n_in, n, n_out, ratio, k=3, seed=n + n_in)
    batch, twins = run_and_compare(cfg, theta, xs, steps)
    assert batch.binary
    # the case must exercise something: neurons fire and spikes arrive
    assert sum(t.spikes for t in twins) > 0
    assert sum(t.synaptic_events for t in twins) > 0


@pytest.mark.parametrize("ratio", [0.5, 0.0, 1.0])
@pytest.mark.parametrize("n_in,n,n_out", [(11, 256, 3), (3, 70, 1), (348, 256, 17)])
def test_float_kernel_with_binary_values_matches_naive(n_in, n, n_out, ratio):
    steps = 2 if n_in > 100 else 4
    cfg, theta, xs = make_case(n_in, n, n_out, ratio, k=2, seed=7 + n)
    batch, _ = run_and_compare(cfg, theta.astype(np.float32), xs, steps)
    assert not batch.binary


@pytest.mark.parametrize("n_in,n,n_out", [(11, 256, 3), (3, 70, 1), (30, 100, 4)])
def test_float_kernel_with_real_weights_matches_naive(n_in, n, n_out):
    cfg = NetworkConfig(n_in=n_in, n_hidden=n, n_out=n_out)
    rng = np.random.default_rng(n)
    # float32-representable values: the kernel stores weights as float32
    w = (rng.standard_normal((2, cfg.n_params)) * 0.7).astype(np.float32)
    w[rng.random(w.shape) < 0.2] = 0.0
    xs = rng.standard_normal((6, 2, n_in))
    batch, twins = run_and_compare(cfg, w, xs, 4, exact=False)
    np.testing.assert_allclose(batch.v, np.array([t.v for t in twins]), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(spikes_of(batch), np.array([t.s for t in twins]))
    np.testing.assert_array_equal(batch.counts,
                                  [[t.spikes, t.synaptic_events] for t in twins])
    assert sum(t.spikes for t in twins) > 0


def test_bitset_and_float_kernels_agree_on_the_same_masks():
    cfg, theta, xs = make_case(11, 256, 3, 0.5, k=4, seed=3)
    a = NetworkBatch(cfg, theta)
    b = NetworkBatch(cfg, theta.astype(np.float32))
    a.reset(seeds=range(4))
    b.reset(seeds=range(4))
    for x in xs:
        np.testing.assert_allclose(a.step(x), b.step(x), rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(spikes_of(a), spikes_of(b))
    np.testing.assert_array_equal(a.counts, b.counts)


@pytest.mark.parametrize("binary", [True, False])
def test_silent_networks_flush_subnormal_state_and_still_match_naive(binary):
    # a burst of input, then silence: i_syn, v and r decay towards zero for hundreds of steps.
    # Without flushing they end subnormal (and x86 runs their arithmetic 10-100x slower).
    cfg, theta, _ = make_case(4, 64, 2, 0.5, k=2, seed=21)
    params = theta if binary else theta.astype(np.float32)
    batch = NetworkBatch(cfg, params)
    batch.reset(seeds=[1, 2])
    twins = [NaiveRSNN.from_params(cfg, params[q]) for q in range(2)]
    for q, twin in enumerate(twins):
        twin.reset(seed=q + 1)
    tiny = np.finfo(np.float64).tiny
    for step in range(700):
        x = np.full((2, 4), 5.0 if step == 0 else 0.0)
        y = batch.step(x)
        y_ref = np.array([t.step(x[q]) for q, t in enumerate(twins)])
        np.testing.assert_array_equal(spikes_of(batch), [t.s for t in twins])
        np.testing.assert_allclose(y, y_ref, rtol=1e-9, atol=1e-300)
    assert batch.counts[:, 0].sum() > 0
    twin_state = np.concatenate([np.abs(np.r_[t.i_syn, t.v, t.r]) for t in twins])
    assert ((twin_state > 0) & (twin_state < tiny)).any(), "the case must reach subnormals"
    for state in (batch.i_syn, batch.v, batch.r):
        assert not ((state != 0) & (np.abs(state) < tiny)).any()


def test_float_step_twin_flushes_subnormals_too():
    from satrlearn.network import float_step
    cfg = NetworkConfig(n_in=2, n_hidden=8, n_out=1)
    k, n = 1, cfg.n_hidden
    w_in = np.zeros((k, 4, n))
    w_h = np.zeros((k, n, n))
    w_out = np.ones((k, n, 1))
    v = np.full((k, n), 1e-300)
    i_syn = np.full((k, n), 1e-300)
    r = np.full((k, n), 1e-300)
    spikes = np.zeros((k, n), dtype=bool)
    for _ in range(30):
        float_step(np.zeros((k, 2)), w_in, w_h, w_out, v, i_syn, r, spikes, cfg)
    for state in (v, i_syn, r):
        np.testing.assert_array_equal(state, 0.0)


def test_inactive_rows_are_left_untouched():
    cfg, theta, xs = make_case(5, 100, 2, 0.5, k=3, seed=11)
    batch = NetworkBatch(cfg, theta)
    batch.reset(seeds=[1, 2, 3])
    batch.step(xs[0])
    before = (batch.v.copy(), batch.i_syn.copy(), batch.r.copy(), batch.s.copy(),
              batch.y.copy(), batch.counts.copy())
    batch.step(xs[1], active=np.array([True, False, True]))
    after = (batch.v, batch.i_syn, batch.r, batch.s, batch.y, batch.counts)
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old[1], new[1])
    assert not np.array_equal(before[0][0], after[0][0])


def test_shared_parameter_vector_runs_k_copies():
    cfg, theta, xs = make_case(11, 100, 3, 0.5, k=1, seed=5)
    shared = NetworkBatch(cfg, theta[0], k=3)
    copies = NetworkBatch(cfg, np.repeat(theta, 3, axis=0))
    shared.reset(seeds=[4, 5, 6])
    copies.reset(seeds=[4, 5, 6])
    x = np.repeat(xs[0], 3, axis=0)
    np.testing.assert_array_equal(shared.step(x), copies.step(x))
    np.testing.assert_array_equal(shared.s, copies.s)


def test_reset_rows_restart_only_those_rows():
    cfg, theta, xs = make_case(3, 70, 1, 0.5, k=2, seed=9)
    batch = NetworkBatch(cfg, theta)
    batch.reset(seeds=[1, 2])
    batch.step(xs[0])
    v1 = batch.v[1].copy()
    batch.reset(rows=[0], seeds=[1])
    twin = NaiveRSNN.from_params(cfg, theta[0])
    twin.reset(seed=1)
    np.testing.assert_array_equal(batch.v[0], twin.v)
    assert not batch.s[0].any() and not batch.r[0].any() and not batch.counts[0].any()
    np.testing.assert_array_equal(batch.v[1], v1)


# --- popcount -------------------------------------------------------------------------

@njit
def _compiled_popcount(x):
    return _kernels.popcount64(x)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_popcount64_pure_python_and_compiled(value):
    assert _kernels.popcount64(value) == value.bit_count()
    assert _kernels.popcount64(np.uint64(value)) == value.bit_count()
    assert _compiled_popcount(np.uint64(value)) == value.bit_count()


def test_popcount64_edges():
    for value in (0, 1, 2**63, 2**64 - 1, 0xAAAAAAAAAAAAAAAA):
        assert _kernels.popcount64(np.uint64(value)) == value.bit_count()
        assert _compiled_popcount(np.uint64(value)) == value.bit_count()


@njit
def _compiled_pack8(u):
    return _kernels.pack8(u)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=8, max_size=8))
def test_pack8_packs_bytes_to_bits(bits):
    word = np.array(bits, dtype=np.uint8).view("<u8")[0]
    expected = int(np.packbits(np.array(bits), bitorder="little")[0])
    assert _kernels.pack8(word) == expected
    assert _compiled_pack8(word) == expected


# --- the same kernels as plain Python ------------------------------------------------------

def test_kernels_match_naive_with_jit_disabled():
    """NUMBA_DISABLE_JIT=1 runs the kernel source as Python: still exact (coverage runs)."""
    script = textwrap.dedent("""
        import numpy as np
        import numba
        assert numba.config.DISABLE_JIT
        from tests.test_kernels import make_case, run_and_compare
        from satrlearn import _kernels
        for value in (0, 1, 2**63 + 5, 2**64 - 1):
            assert _kernels.popcount64(np.uint64(value)) == value.bit_count()
        for ratio in (0.5, 0.0):
            cfg, theta, xs = make_case(3, 70, 2, ratio, k=2, seed=1)
            batch, twins = run_and_compare(cfg, theta, xs, 3)
            assert batch.binary and sum(t.spikes for t in twins) > 0
        cfg, theta, xs = make_case(3, 70, 2, 0.5, k=1, seed=2)
        batch, _ = run_and_compare(cfg, theta.astype(np.float32), xs, 3)
        assert not batch.binary
        print("ok")
    """)
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


def test_lockstep_inputs_match_the_numpy_forms():
    rng = np.random.default_rng(3)
    obs = rng.standard_normal((5, 7)) * 30
    active = np.array([True, False, True, True, False])
    shift, mean = rng.standard_normal(7), rng.standard_normal(7)
    scale = rng.random(7) + 0.1
    obs_sum, obs_sq = rng.standard_normal((5, 7)), rng.random((5, 7))
    want_sum = obs_sum + np.where(active[:, None], obs - shift, 0.0)
    want_sq = obs_sq + np.where(active[:, None], (obs - shift) ** 2, 0.0)
    x = np.full((5, 7), -99.0)
    bad = _kernels.lockstep_inputs(obs, active, shift, mean, scale, 10.0, obs_sum, obs_sq, x)
    assert bad == -1
    np.testing.assert_array_equal(obs_sum, want_sum)
    np.testing.assert_array_equal(obs_sq, want_sq)
    np.testing.assert_array_equal(x[active], np.clip((obs - mean) * scale, -10, 10)[active])
    np.testing.assert_array_equal(x[~active], -99.0)  # inactive rows are not touched
    obs[3, 2] = np.nan
    obs[4, 0] = np.inf  # inactive: not reported
    assert _kernels.lockstep_inputs(obs, active, shift, mean, scale, 10.0, obs_sum, obs_sq,
                                    x) == 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_box_actions_match_the_numpy_form(dtype):
    rng = np.random.default_rng(4)
    y = rng.standard_normal((6, 3)) * 2
    y[0, 1] = np.nan
    mid, half = rng.standard_normal(3), rng.random(3) + 0.5
    out = np.empty((6, 3), dtype=dtype)
    _kernels.box_actions(y, mid, half, out)
    np.testing.assert_array_equal(out, (mid + half * np.clip(y, -1.0, 1.0)).astype(dtype))


@pytest.mark.parametrize("dim", [1, 8, 77, 1000])
def test_add_packed_equals_adding_the_unpacked_rows(dim):
    """The parent's signal from packed candidates: the same sums, bit for bit, as numpy's
    ``acc += w * theta`` over the unpacked rows, for weights of either sign and zero."""
    rng = np.random.default_rng(dim)
    theta = rng.random((6, dim)) < 0.5
    packed = np.packbits(theta, axis=1, bitorder="little")
    weights = [0.37, -1.25, 0.0, -0.0, 1e-300, 3.0]
    expected = np.zeros(dim)
    got = np.zeros(dim)
    for row, w in zip(range(6), weights):
        expected += w * theta[row]
        _kernels.add_packed(got, packed[row], w)
    assert np.array_equal(got, expected)
    assert not np.signbit(got[got == 0]).any()  # no -0.0 where numpy has +0.0
