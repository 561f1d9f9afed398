"""Numba kernels: popcount, the batched bitset LIF step and the event-driven float step.

Kernels assume valid, preallocated input (see :class:`satrlearn.policy.NetworkBatch` for the
checks) and write their results in place. They compile with ``cache=True`` and also run as
plain Python under ``NUMBA_DISABLE_JIT=1`` (slowly), which keeps coverage runs possible.

Constants array ``c`` (float64): ``r_in, r_h, r_out, a_syn, a_m, a_out, v_th, v_reset, dt``.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload


def popcount64(x):
    """Number of set bits of a 64-bit word (pure Python; compiled code lowers to LLVM ctpop)."""
    return int(x).bit_count()


@intrinsic
def _ctpop64(typingctx, x):
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@overload(popcount64, jit_options={"cache": True})
def _popcount64_overload(x):
    if isinstance(x, types.Integer):
        def impl(x):
            return _ctpop64(np.uint64(x))
        return impl
    return None


@njit(cache=True)
def _input_current(x, win, k, r_in, out):
    """out[:] = r_in * (x[k] @ win[k]) with the folded input matrix ``W_in[:n_in] - W_in[n_in:]``."""
    n = out.shape[0]
    for j in range(n):
        out[j] = 0.0
    for i in range(x.shape[1]):
        xi = x[k, i]
        if xi != 0.0:
            for j in range(n):
                out[j] += xi * win[k, i, j]
    for j in range(n):
        out[j] *= r_in


@njit(cache=True)
def _readout(r, wout, k, r_out, y):
    n_out = y.shape[1]
    for o in range(n_out):
        y[k, o] = 0.0
    for j in range(r.shape[1]):
        rj = r[k, j]
        if rj != 0.0:
            for o in range(n_out):
                y[k, o] += rj * wout[k, j, o]
    for o in range(n_out):
        y[k, o] *= r_out


@njit(cache=True)
def bitset_step(x, win, wh, wout, v, isyn, r, s, active, c, n_exc, exc_words, substeps,
                y, counts, i_in, cnt):
    """Advance every active network one environment step on packed spikes.

    x (K, n_in) f64 normalised observations; win (K, n_in, n) f32 folded input mask;
    wh (K, n_words, n) u64 packed recurrent columns; wout (K, n, n_out) f32;
    v, isyn, r (K, n) f64 and s (K, n_words) u64 state; active (K,) bool;
    y (K, n_out) f64 readout; counts (K, 2) i64 += (spikes, synaptic events);
    i_in (n,) f64 and cnt (n,) i64 are scratch.
    """
    r_in, r_h, r_out = c[0], c[1], c[2]
    a_syn, a_m, a_out = c[3], c[4], c[5]
    v_th, v_reset, dt = c[6], c[7], c[8]
    n = v.shape[1]
    n_words = s.shape[1]
    g_m = 1.0 - a_m
    g_out = 1.0 - a_out
    for k in range(x.shape[0]):
        if not active[k]:
            continue
        _input_current(x, win, k, r_in, i_in)
        spikes = 0
        events = 0
        for _t in range(substeps):
            for j in range(n):
                cnt[j] = 0
            for b in range(n_words):
                sb = s[k, b]
                if sb == 0:
                    continue
                # every set bit of (column & spikes) is one synaptic event
                if b < exc_words:
                    for j in range(n):
                        p = popcount64(wh[k, b, j] & sb)
                        cnt[j] += p
                        events += p
                else:
                    for j in range(n):
                        p = popcount64(wh[k, b, j] & sb)
                        cnt[j] -= p
                        events += p
            for j in range(n):
                isyn[k, j] = a_syn * isyn[k, j] + r_h * cnt[j]
                v[k, j] = a_m * v[k, j] + g_m * (v_reset + isyn[k, j] + i_in[j])
            for b in range(n_words):
                s[k, b] = 0
            for j in range(n):
                if v[k, j] > v_th:
                    v[k, j] = v_reset
                    spikes += 1
                    if j < n_exc:
                        s[k, j >> 6] |= np.uint64(1) << np.uint64(j & 63)
                        r[k, j] = a_out * r[k, j] + g_out * (1.0 / dt)
                    else:
                        loc = j - n_exc
                        s[k, exc_words + (loc >> 6)] |= np.uint64(1) << np.uint64(loc & 63)
                        r[k, j] = a_out * r[k, j] + g_out * (-1.0 / dt)
                else:
                    r[k, j] = a_out * r[k, j]
        _readout(r, wout, k, r_out, y)
        counts[k, 0] += spikes
        counts[k, 1] += events


@njit(cache=True)
def float_step(x, win, wh, wout, v, isyn, r, s, active, c, n_exc, substeps,
               y, counts, i_in, h, spiking, outdeg):
    """Event-driven float twin of :func:`bitset_step` for real or 0/1 weights.

    Same arguments except wh (K, n, n) f32 dense recurrent weights ``[pre, post]`` and
    s (K, n) u8 last spikes; h (n,) f64 and spiking (n,) i64 are scratch; outdeg (K, n) i64
    holds the number of non-zero outgoing weights of each neuron. The recurrent input adds one
    weight row per spiking neuron, which is the cheapest float form when spikes are sparse.
    Synaptic events count the non-zero connections of every spiking neuron.
    """
    r_in, r_h, r_out = c[0], c[1], c[2]
    a_syn, a_m, a_out = c[3], c[4], c[5]
    v_th, v_reset, dt = c[6], c[7], c[8]
    n = v.shape[1]
    g_m = 1.0 - a_m
    g_out = 1.0 - a_out
    for k in range(x.shape[0]):
        if not active[k]:
            continue
        _input_current(x, win, k, r_in, i_in)
        n_spk = 0
        for i in range(n):
            if s[k, i]:
                spiking[n_spk] = i
                n_spk += 1
        spikes = 0
        events = 0
        for _t in range(substeps):
            for j in range(n):
                h[j] = 0.0
            for q in range(n_spk):
                i = spiking[q]
                events += outdeg[k, i]
                if i < n_exc:
                    for j in range(n):
                        h[j] += wh[k, i, j]
                else:
                    for j in range(n):
                        h[j] -= wh[k, i, j]
            for j in range(n):
                isyn[k, j] = a_syn * isyn[k, j] + r_h * h[j]
                v[k, j] = a_m * v[k, j] + g_m * (v_reset + isyn[k, j] + i_in[j])
            n_spk = 0
            for j in range(n):
                if v[k, j] > v_th:
                    v[k, j] = v_reset
                    s[k, j] = 1
                    spiking[n_spk] = j
                    n_spk += 1
                    sign = 1.0 if j < n_exc else -1.0
                    r[k, j] = a_out * r[k, j] + g_out * (sign / dt)
                else:
                    s[k, j] = 0
                    r[k, j] = a_out * r[k, j]
            spikes += n_spk
        _readout(r, wout, k, r_out, y)
        counts[k, 0] += spikes
        counts[k, 1] += events
