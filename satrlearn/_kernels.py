"""Numba kernels: popcount, the batched bitset LIF step and the event-driven float step.

Kernels assume valid, preallocated input (see :class:`satrlearn.policy.NetworkBatch` for the
checks and the array layouts) and write their results in place. They compile with
``cache=True`` and also run as plain Python under ``NUMBA_DISABLE_JIT=1`` (slowly), which keeps
coverage runs possible: every bit trick below has a pure-Python form.

Constants array ``c`` (float64): ``r_in, r_h, r_out, a_syn, a_m, a_out, v_th, v_reset, dt``.

Both kernels share the membrane update (:func:`_membrane`) and the spike bookkeeping
(:func:`_pack_spikes`); they differ in how they get the recurrent input (popcounts over packed
masks vs. adding float weight rows of the spiking neurons) and the input current (byte-wise
subset-sum tables over packed masks vs. a dense float product). The membrane update keeps the
order of the floating-point operations of SPEC section 1 exactly, and no kernel uses fastmath:
spike trains must match the plain numpy twin bit for bit, and results must not depend on the
SIMD width of the machine. Only the output trace ``r``, which feeds nothing but the readout, is
accumulated in a cheaper (mathematically equal) order.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload

_MASK64 = (1 << 64) - 1
# Smallest normal float64. After every environment step, state values below it in magnitude
# are flushed to zero: a silent network's synaptic current and output trace otherwise decay
# into subnormal numbers, whose arithmetic is up to 100x slower on x86 (a silent HalfCheetah
# network stepped at 140 us instead of 13). Adding a subnormal to any value of magnitude
# >= 2**-970 leaves it unchanged, so this changes no spike and no readout that matters; the
# numpy twin flushes at the same points. Once per env step rather than per substep: a value
# decays through the subnormal range in about 11 env steps, so at most one step's substeps
# see it, and the membrane loop stays 1.5x cheaper than with a flush in it.
TINY = 2.2250738585072014e-308
# bytes b_0..b_7 (each 0 or 1) of a little-endian word times this constant put b_t at bit 56 + t
# with no carries between the partial products
_PACK8_MAGIC = 0x0102040810204080


def popcount64(x):
    """Number of set bits of a 64-bit word (pure Python; compiled code lowers to LLVM ctpop)."""
    return int(x).bit_count()


def pack8(u):
    """Bits ``t = 0..7`` from the bytes (each 0 or 1) of the little-endian 64-bit word ``u``."""
    return ((int(u) * _PACK8_MAGIC) & _MASK64) >> 56


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
            # int64, so that sums with other integers stay integers in Numba's typing
            return np.int64(_ctpop64(np.uint64(x)))
        return impl
    return None


@overload(pack8, jit_options={"cache": True})
def _pack8_overload(u):
    if isinstance(u, types.Integer):
        def impl(u):
            return (np.uint64(u) * np.uint64(_PACK8_MAGIC)) >> np.uint64(56)
        return impl
    return None


# --- input current ------------------------------------------------------------------------

@njit(cache=True)
def _input_from_bits(x, win, k, r_in, out, table):
    """``out = r_in * ([x, -x] @ W_in)`` for row ``k`` from byte-packed input masks.

    ``win[k, h, c, j]`` holds the connections of inputs ``8c .. 8c+7`` of half ``h`` (0: ``x``,
    1: ``-x``) to neuron ``j``, one bit each. For every chunk of 8 inputs a table of all 256
    subset sums of their values is built (255 additions), after which each (chunk, neuron)
    costs one lookup per half instead of 16 multiply-adds.
    """
    n = out.shape[0]
    n_in = x.shape[1]
    for j in range(n):
        out[j] = 0.0
    for c in range(win.shape[2]):
        table[0] = 0.0
        size = 1
        for t in range(8):
            i = c * 8 + t
            xi = x[k, i] if i < n_in else 0.0
            for m in range(size):
                table[size + m] = table[m] + xi
            size *= 2
        for j in range(n):
            out[j] += table[win[k, 0, c, j]] - table[win[k, 1, c, j]]
    for j in range(n):
        out[j] *= r_in


@njit(cache=True)
def _input_dense(x, win, k, r_in, out):
    """``out = r_in * (x[k] @ win[k])``, ``win`` the folded ``W_in[:n_in] - W_in[n_in:]``."""
    n = out.shape[0]
    n_in = x.shape[1]
    for j in range(n):
        out[j] = 0.0
    i = 0
    while i + 4 <= n_in:
        # four inputs per pass over out[]; the additions stay in input order
        x0, x1, x2, x3 = x[k, i], x[k, i + 1], x[k, i + 2], x[k, i + 3]
        w0, w1, w2, w3 = win[k, i], win[k, i + 1], win[k, i + 2], win[k, i + 3]
        for j in range(n):
            out[j] = (((out[j] + x0 * w0[j]) + x1 * w1[j]) + x2 * w2[j]) + x3 * w3[j]
        i += 4
    while i < n_in:
        xi = x[k, i]
        wi = win[k, i]
        for j in range(n):
            out[j] += xi * wi[j]
        i += 1
    for j in range(n):
        out[j] *= r_in


# --- recurrent input ----------------------------------------------------------------------

@njit(cache=True)
def _recurrent_counts(wh, s, k, exc_words, cnt):
    """``cnt[j]`` = spiking excitatory minus spiking inhibitory presynaptic neurons of ``j``.

    ``wh[k, b, j]`` is word ``b`` of column ``j`` of the packed recurrent mask and ``s[k, b]``
    word ``b`` of the last spikes. Words are taken two at a time to halve the passes over cnt.
    """
    n = cnt.shape[0]
    n_words = s.shape[1]
    for j in range(n):
        cnt[j] = 0
    for group in range(2):
        lo = 0 if group == 0 else exc_words
        hi = exc_words if group == 0 else n_words
        b = lo
        while b < hi:
            s0 = s[k, b]
            s1 = s[k, b + 1] if b + 1 < hi else np.uint64(0)
            if s0 != 0 or s1 != 0:
                w0 = wh[k, b]
                if b + 1 < hi:
                    w1 = wh[k, b + 1]
                    if group == 0:
                        for j in range(n):
                            cnt[j] += popcount64(w0[j] & s0) + popcount64(w1[j] & s1)
                    else:
                        for j in range(n):
                            cnt[j] -= popcount64(w0[j] & s0) + popcount64(w1[j] & s1)
                elif group == 0:
                    for j in range(n):
                        cnt[j] += popcount64(w0[j] & s0)
                else:
                    for j in range(n):
                        cnt[j] -= popcount64(w0[j] & s0)
            b += 2


@njit(cache=True)
def _add_rows(wh, k, spiking, q, end, h, sign):
    """``h += sign * (sum of the rows wh[k, spiking[q:end]])``, four rows per pass over h."""
    n = h.shape[0]
    while q + 4 <= end:
        w0, w1 = wh[k, spiking[q]], wh[k, spiking[q + 1]]
        w2, w3 = wh[k, spiking[q + 2]], wh[k, spiking[q + 3]]
        if sign > 0:
            for j in range(n):
                a = h[j]
                a += w0[j]
                a += w1[j]
                a += w2[j]
                a += w3[j]
                h[j] = a
        else:
            for j in range(n):
                a = h[j]
                a -= w0[j]
                a -= w1[j]
                a -= w2[j]
                a -= w3[j]
                h[j] = a
        q += 4
    while q < end:
        w0 = wh[k, spiking[q]]
        if sign > 0:
            for j in range(n):
                h[j] += w0[j]
        else:
            for j in range(n):
                h[j] -= w0[j]
        q += 1


@njit(cache=True)
def _recurrent_rows(wh, k, spiking, n_spk, n_spk_exc, h):
    """``h[j]`` = sum of the weight rows of the spiking neurons (inhibitory ones subtracted).

    Event-driven: the cost is proportional to the number of spikes. ``h`` may be float32 (exact
    for 0/1 weights, whose sums are small integers) or float64 (real weights).
    """
    for j in range(h.shape[0]):
        h[j] = 0.0
    _add_rows(wh, k, spiking, 0, n_spk_exc, h, 1)
    _add_rows(wh, k, spiking, n_spk_exc, n_spk, h, -1)


# --- membrane, spikes, readout ------------------------------------------------------------

@njit(cache=True)
def _membrane(k, cur, i_in, v, isyn, spk, c, n_exc, exc_words):
    """One LIF substep for every neuron of row ``k``; spikes go to ``spk`` as bytes.

    ``cur[j]`` is the signed count (or weight sum) of the recurrent input. Neuron ``j`` writes
    byte ``64 b + q`` of ``spk`` where ``(b, q)`` is its word and bit in the packed layout, so
    the bytes of each word can be packed with :func:`pack8`. Operation order as in SPEC.
    """
    r_h, a_syn, a_m = c[1], c[3], c[4]
    v_th, v_reset = c[6], c[7]
    g_m = 1.0 - a_m
    n = v.shape[1]
    for group in range(2):
        j0 = 0 if group == 0 else n_exc
        j1 = n_exc if group == 0 else n
        o = 0 if group == 0 else 64 * exc_words
        # views indexed from 0: Numba then knows the indices are non-negative, drops the
        # wraparound selects and the loop vectorises
        vb = v[k, j0:j1]
        ib = isyn[k, j0:j1]
        cb = cur[j0:j1]
        xb = i_in[j0:j1]
        sb = spk[o:o + j1 - j0]
        for q in range(j1 - j0):
            a = a_syn * ib[q] + r_h * cb[q]
            ib[q] = a
            vv = a_m * vb[q] + g_m * ((v_reset + a) + xb[q])
            fire = vv > v_th
            vb[q] = v_reset if fire else vv
            sb[q] = fire


@njit(cache=True)
def _pack_spikes(k, spk64, s, n_exc, exc_words, outdeg, racc, weight, spiking):
    """Pack the spike bytes into ``s[k]`` and visit every spike once.

    Each spike adds ``weight`` to its neuron's output-trace accumulator ``racc`` and its
    out-degree to the synaptic events it will cause. Returns ``(spikes, events, n_spk_exc)``;
    the spiking neurons are listed in ``spiking`` (excitatory first) when it is not empty.
    """
    one = np.uint64(1)
    n_words = s.shape[1]
    list_them = spiking.shape[0] > 0
    od = outdeg[k]
    spikes = 0
    events = 0
    n_spk_exc = 0
    for b in range(n_words):
        word = np.uint64(0)
        for q in range(8):
            word |= np.uint64(pack8(spk64[b * 8 + q])) << np.uint64(8 * q)
        s[k, b] = word
        j0 = b * 64 if b < exc_words else n_exc + (b - exc_words) * 64
        while word != 0:
            # index of the lowest set bit, then clear it
            j = j0 + popcount64(word ^ (word - one)) - 1
            word &= word - one
            racc[j] += weight
            events += od[j]
            if list_them:
                spiking[spikes] = j
            spikes += 1
        if b + 1 == exc_words:
            n_spk_exc = spikes
    return spikes, events, n_spk_exc


@njit(cache=True)
def _start_step(k, s, n_exc, exc_words, outdeg, racc, spiking):
    """Before an env step: events carried by the spikes in ``s[k]``, spike list, racc = 0."""
    n = racc.shape[0]
    for j in range(n):
        racc[j] = 0.0
    one = np.uint64(1)
    events = 0
    n_spk = 0
    n_spk_exc = 0
    list_them = spiking.shape[0] > 0
    od = outdeg[k]
    for b in range(s.shape[1]):
        word = s[k, b]
        j0 = b * 64 if b < exc_words else n_exc + (b - exc_words) * 64
        while word != 0:
            j = j0 + popcount64(word ^ (word - one)) - 1
            word &= word - one
            events += od[j]
            if list_them:
                spiking[n_spk] = j
            n_spk += 1
        if b + 1 == exc_words:
            n_spk_exc = n_spk
    return events, n_spk, n_spk_exc


@njit(cache=True)
def _readout(k, r, wout, r_out, y):
    """``y[k] = r_out * (r[k] @ wout[k])``; the loop over outputs vectorises, the sum over
    neurons stays in order (no fastmath: results do not depend on the SIMD width)."""
    rk = r[k]
    yk = y[k]
    n_out = yk.shape[0]
    for o in range(n_out):
        yk[o] = 0.0
    for j in range(rk.shape[0]):
        rj = rk[j]
        wj = wout[k, j]
        for o in range(n_out):
            yk[o] += rj * wj[o]
    for o in range(n_out):
        yk[o] *= r_out


@njit(cache=True)
def _flush_row(a, k):
    """Set the subnormal entries of ``a[k]`` to zero (see ``TINY``)."""
    ak = a[k]
    for j in range(ak.shape[0]):
        x = ak[j]
        ak[j] = 0.0 if abs(x) < TINY else x  # NaN stays NaN


@njit(cache=True)
def _finish_step(k, v, isyn, r, racc, c, n_exc, substeps, wout, y):
    """Flush the state of row ``k`` (see ``TINY``), then the output trace after the step's
    substeps, then the readout ``y = r_out * (r @ W_out)``.

    ``racc[j]`` is ``sum_t a_out**(S-1-t)`` over the substeps ``t`` where ``j`` fired, so
    ``r <- a_out**S r + (1 - a_out) * (+-1 / dt) * racc`` equals SPEC's per-substep recursion
    up to rounding (``r`` does not feed back into the network).
    """
    _flush_row(v, k)
    _flush_row(isyn, k)
    a_out, dt = c[5], c[8]
    decay = a_out ** substeps
    g_pos = (1.0 - a_out) * (1.0 / dt)
    g_neg = (1.0 - a_out) * (-1.0 / dt)
    rk = r[k]
    n = rk.shape[0]
    for j in range(n_exc):
        a = decay * rk[j] + g_pos * racc[j]
        rk[j] = 0.0 if abs(a) < TINY else a
    for j in range(n_exc, n):
        a = decay * rk[j] + g_neg * racc[j]
        rk[j] = 0.0 if abs(a) < TINY else a
    _readout(k, r, wout, c[2], y)


# --- the kernels --------------------------------------------------------------------------

@njit(cache=True)
def bitset_step(x, win, wh, wout, outdeg, v, isyn, r, s, active, c, n_exc, exc_words,
                substeps, y, counts, i_in, cnt, table, racc, spk, decay):
    """Advance every active network one environment step on packed masks and spikes.

    x (K, n_in) f64 normalised observations; win (K, 2, ceil(n_in/8), n) u8 byte-packed input
    masks (see :func:`_input_from_bits`); wh (K, n_words, n) u64 packed recurrent columns;
    wout (K, n, n_out) f32; outdeg (K, n) i64 recurrent out-degrees; v, isyn, r (K, n) f64 and
    s (K, n_words) u64 state; active (K,) bool; y (K, n_out) f64 readout; counts (K, 2) i64
    += (spikes, synaptic events). Scratch: i_in (n,) f64, cnt (n,) i64, table (256,) f64,
    racc (n,) f64, spk (64 n_words,) u8 (zero-initialised), decay (substeps,) f64 with
    ``decay[t] = a_out**(substeps - 1 - t)``.
    """
    r_in = c[0]
    spk64 = spk.view(np.uint64)
    no_list = np.empty(0, dtype=np.int64)
    for k in range(x.shape[0]):
        if not active[k]:
            continue
        _input_from_bits(x, win, k, r_in, i_in, table)
        pending, _, _ = _start_step(k, s, n_exc, exc_words, outdeg, racc, no_list)
        spikes = 0
        events = 0
        for t in range(substeps):
            events += pending
            _recurrent_counts(wh, s, k, exc_words, cnt)
            _membrane(k, cnt, i_in, v, isyn, spk, c, n_exc, exc_words)
            n_spk, pending, _ = _pack_spikes(k, spk64, s, n_exc, exc_words, outdeg, racc,
                                             decay[t], no_list)
            spikes += n_spk
        _finish_step(k, v, isyn, r, racc, c, n_exc, substeps, wout, y)
        counts[k, 0] += spikes
        counts[k, 1] += events


@njit(cache=True)
def float_step(x, win, wh, wout, outdeg, v, isyn, r, s, active, c, n_exc, exc_words,
               substeps, y, counts, i_in, h, racc, spk, decay, spiking):
    """Event-driven float twin of :func:`bitset_step` for real or 0/1 weights.

    Same state and bookkeeping; win (K, n_in, n) f32 or f64 folded input weights
    ``W_in[:n_in] - W_in[n_in:]``; wh (K, n, n) f32 recurrent weights ``[pre, post]``; h (n,)
    float32 (0/1 weights: exact) or float64 (real weights) scratch; spiking (n,) i64 scratch.
    The recurrent input adds one weight row per spiking neuron, the cheapest float form while
    spikes are sparse. Synaptic events count the non-zero weights of every spiking neuron.
    """
    r_in = c[0]
    spk64 = spk.view(np.uint64)
    for k in range(x.shape[0]):
        if not active[k]:
            continue
        _input_dense(x, win, k, r_in, i_in)
        pending, n_spk, n_spk_exc = _start_step(k, s, n_exc, exc_words, outdeg, racc, spiking)
        spikes = 0
        events = 0
        for t in range(substeps):
            events += pending
            _recurrent_rows(wh, k, spiking, n_spk, n_spk_exc, h)
            _membrane(k, h, i_in, v, isyn, spk, c, n_exc, exc_words)
            n_spk, pending, n_spk_exc = _pack_spikes(k, spk64, s, n_exc, exc_words, outdeg,
                                                     racc, decay[t], spiking)
            spikes += n_spk
        _finish_step(k, v, isyn, r, racc, c, n_exc, substeps, wout, y)
        counts[k, 0] += spikes
        counts[k, 1] += events


# --- the lockstep loop's inputs -----------------------------------------------------------

@njit(cache=True)
def add_packed(acc, packed, w):
    """``acc[j] += w`` for every set bit ``j`` of ``packed`` (8 per byte, little bit order).

    The search's signal ``sum_i w_i theta_i`` from the candidates the workers sent back
    packed: element by element and candidate by candidate the same sums as
    ``acc += w * theta``, without unpacking ``theta`` into a temporary array.
    """
    for j in range(acc.shape[0]):
        # branch-free (half the bits are set early in a search): w * 0 adds a signed zero
        acc[j] += w * ((packed[j >> 3] >> (j & 7)) & 1)


@njit(cache=True)
def lockstep_inputs(obs, active, shift, mean, scale, clip, obs_sum, obs_sq, x):
    """One pass over the active rows of ``obs (K, n_in)`` before a lockstep env step.

    Adds ``obs - shift`` and its square to the moment sums ``obs_sum``/``obs_sq``, and writes
    the normalised inputs ``x = clip((obs - mean) * scale, -clip, clip)`` (the same operations,
    in the same order, as the numpy forms they replace, so results are unchanged; inactive
    rows are left as they are). Returns the first row with a non-finite observation, or -1.
    """
    bad = -1
    for q in range(obs.shape[0]):
        if not active[q]:
            continue
        for i in range(obs.shape[1]):
            o = obs[q, i]
            if bad < 0 and not np.isfinite(o):
                bad = q
            d = o - shift[i]
            obs_sum[q, i] += d
            obs_sq[q, i] += d * d
            z = (o - mean[i]) * scale[i]
            if z < -clip:
                z = -clip
            elif z > clip:
                z = clip
            x[q, i] = z
    return bad


@njit(cache=True)
def box_actions(y, mid, half, out):
    """``out = (mid + half * clip(y, -1, 1))`` cast to ``out``'s dtype, as numpy computes it."""
    for q in range(y.shape[0]):
        for o in range(y.shape[1]):
            v = y[q, o]
            if v < -1.0:
                v = -1.0
            elif v > 1.0:
                v = 1.0
            out[q, o] = mid[o] + half[o] * v
