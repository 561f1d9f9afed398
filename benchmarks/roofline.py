"""How close the bitset kernel runs to what this CPU can do: a roofline for one env step.

The recurrent input of one substep is ``n_words x n`` AND + popcount + add operations over
64-bit words (4 x 256 = 1,024 at the default 256 neurons); the membrane update is ``n``
float64 updates of a few multiply-adds each. This script measures, in one run:

* **peak popcount rate**: a compiled loop that does nothing but AND + popcount + accumulate
  over an L1-resident buffer of the recurrent mask's size (the best any form of the
  recurrent sum can do on this CPU with this compiler);
* the kernel's own **recurrent step** (``_recurrent_counts``), **membrane update**
  (``_membrane``) and **spike packing** (``_pack_spikes``), each alone in a compiled loop;
* the **whole kernel** (``NetworkBatch.step``) per network and env step,

at the sizes of Hopper-v5, HalfCheetah-v5 and Humanoid-v5 (256 neurons, 33 substeps), and
prints the time per env step each part would take at the peak rate against what it takes.
Times are CPU time (``time.process_time``), the fastest of several repeats, so other work on
the machine disturbs them little.

    python benchmarks/roofline.py
"""

from __future__ import annotations

import platform
import time

import numpy as np
from numba import njit

from satrlearn import _kernels as K
from satrlearn.engine import NetworkBatch
from satrlearn.network import NetworkConfig

TASKS = (("Hopper-v5", 11, 3), ("HalfCheetah-v5", 17, 6), ("Humanoid-v5", 348, 17))


@njit(cache=True)
def _peak_popcount(words, mask, reps):
    """reps passes of AND + popcount + add over ``words`` (the loop shape the kernel has at
    best: independent lanes, one accumulator per lane)."""
    n = words.shape[0]
    acc = np.zeros(n, dtype=np.int64)
    for _ in range(reps):
        for j in range(n):
            acc[j] += K.popcount64(words[j] & mask)
    return acc.sum()


@njit(cache=True)
def _loop_recurrent(wh, s, exc_words, cnt, reps):
    for _ in range(reps):
        K._recurrent_counts(wh, s, 0, exc_words, cnt)


@njit(cache=True)
def _loop_membrane(cnt, i_in, v, isyn, spk, c, n_exc, exc_words, reps):
    for _ in range(reps):
        K._membrane(0, cnt, i_in, v, isyn, spk, c, n_exc, exc_words)


@njit(cache=True)
def _loop_pack(spk64, s, n_exc, exc_words, outdeg, racc, reps):
    none = np.empty(0, dtype=np.int64)
    total = 0
    for _ in range(reps):
        n_spk, _, _ = K._pack_spikes(0, spk64, s, n_exc, exc_words, outdeg, racc, 1.0, none)
        total += n_spk
    return total


def best_time(fn, *args, repeats=15):
    """Fastest CPU time of ``fn(*args)`` over ``repeats`` calls (one call first, to compile)."""
    fn(*args)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn(*args)
        best = min(best, time.process_time() - t0)
    return best


def measure(n_in, n_out, rng):
    cfg = NetworkConfig(n_in=n_in, n_out=n_out)
    n, n_words, substeps = cfg.n_hidden, cfg.n_words, cfg.substeps
    params = rng.random((8, cfg.n_params)) < 0.5
    batch = NetworkBatch(cfg, params)
    batch.reset(seeds=range(8))
    x = np.clip(rng.standard_normal((8, n_in)) * 1.5, -10, 10)
    for _ in range(20):  # a state with spikes in flight
        batch.step(x)

    reps = 20_000
    words = rng.integers(0, 2**63, size=n_words * n, dtype=np.int64).astype(np.uint64)
    peak = n_words * n * reps / best_time(_peak_popcount, words, np.uint64(0xFFFF0000FFFF), reps)

    s = np.full((1, n_words), np.uint64(0x8421084210842108))  # every word has spikes
    wh = np.ascontiguousarray(batch.wh[:1])
    cnt = np.zeros(n, dtype=np.int64)
    t_rec = best_time(_loop_recurrent, wh, s, cfg.exc_words, cnt, reps) / reps
    v = batch.v[:1].copy()
    isyn = batch.i_syn[:1].copy()
    spk = np.zeros(64 * n_words, dtype=np.uint8)
    i_in = rng.standard_normal(n) * 0.3
    # non-zero input everywhere: repeated without the kernel's per-env-step flush, a current
    # with no input would decay into subnormal numbers and time the CPU's slow path instead
    cnt = rng.integers(1, 6, size=n).astype(np.int64)
    t_mem = best_time(_loop_membrane, cnt, i_in, v, isyn, spk, cfg.kernel_constants(),
                      cfg.n_exc, cfg.exc_words, reps) / reps
    spk[rng.random(spk.shape[0]) < 0.05] = 1
    s2 = np.zeros((1, n_words), dtype=np.uint64)
    racc = np.zeros(n)
    t_pack = best_time(_loop_pack, spk.view(np.uint64), s2, cfg.n_exc, cfg.exc_words,
                       np.ascontiguousarray(batch._outdeg[:1]), racc, reps) / reps

    def kernel_steps(k):
        for _ in range(k):
            batch.step(x)

    t_step = best_time(kernel_steps, 200) / 200 / 8
    spikes = batch.counts[:, 0].sum() / batch.counts.shape[0]
    return {
        "popcounts": n_words * n * substeps, "peak": peak,
        "ideal_rec": n_words * n * substeps / peak, "rec": t_rec * substeps,
        "mem": t_mem * substeps, "pack": t_pack * substeps, "step": t_step,
        "spikes_per_substep": spikes / (220 * substeps),
    }


def main():
    rng = np.random.default_rng(0)
    cpu = platform.processor() or platform.machine()
    print(f"roofline of one env step, 256 neurons, 33 substeps ({cpu})")
    print(f"{'task':<16}{'popcounts':>10}{'peak/s':>10}{'at peak':>9}{'recurrent':>11}"
          f"{'membrane':>10}{'packing':>9}{'parts':>8}{'kernel':>8}")
    for task, n_in, n_out in TASKS:
        r = measure(n_in, n_out, rng)
        parts = r["rec"] + r["mem"] + r["pack"]
        print(f"{task:<16}{r['popcounts']:>10,}{r['peak'] / 1e9:>9.1f}G"
              f"{r['ideal_rec'] * 1e6:>7.2f}us{r['rec'] * 1e6:>9.2f}us{r['mem'] * 1e6:>8.2f}us"
              f"{r['pack'] * 1e6:>7.2f}us{parts * 1e6:>6.1f}us{r['step'] * 1e6:>6.1f}us")
    print("at peak: the recurrent popcounts at the peak rate; recurrent / membrane / packing: "
          "each part alone, per env step; kernel: NetworkBatch.step per network (input "
          "current, readout and call overhead included)")


if __name__ == "__main__":
    main()
