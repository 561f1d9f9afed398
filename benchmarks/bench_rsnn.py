"""Time one environment step of the spiking network: bitset kernel vs. float forms.

For each of Humanoid-v5 (348 inputs, 17 outputs) and Hopper-v5 (11 inputs, 3 outputs), a batch
of ``K`` networks (256 neurons, 33 substeps, random masks at density 0.5) is advanced in
lockstep on normalised observations recorded from the environment itself, and the time per
member-environment-step is printed for

* the bitset kernel (``NetworkBatch`` with boolean masks),
* the best Numba float kernel (``NetworkBatch`` with float32 0/1 weights: event-driven,
  float32 accumulation, which is exact for 0/1 weights),
* the dense numpy twin in float32 (batched ``matmul``) and ``network.float_step`` (float64
  einsum, the reference forward),

next to one ``env.step`` of the environment with random actions, measured in the same run.

Run:  python benchmarks/bench_rsnn.py [--quick] [--batch 32]
Each time is the fastest of several repeats (the least disturbed by other processes).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import gymnasium as gym
import numba
import numpy as np

from satrlearn.network import NetworkConfig, float_step, split_params
from satrlearn.normalization import Moments, ObservationNormalizer
from satrlearn.engine import NetworkBatch

ENVS = [("Humanoid-v5", 348, 17), ("Hopper-v5", 11, 3)]


def record_observations(env_id, n_steps, seed):
    """Observations of random-action episodes, normalised like a policy would (clip 10),
    and the mean time of ``env.step`` (resets excluded)."""
    env = gym.make(env_id)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    observations = []
    spent = 0.0
    for _ in range(n_steps):
        action = env.action_space.sample()
        t0 = time.perf_counter()
        obs, _, terminated, truncated, _ = env.step(action)
        spent += time.perf_counter() - t0
        observations.append(obs)
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    observations = np.asarray(observations, dtype=np.float64)
    norm = ObservationNormalizer(observations.shape[1])
    mean = observations.mean(axis=0)
    norm.merge(Moments(observations.shape[1], len(observations), mean,
                       ((observations - mean) ** 2).sum(axis=0)))
    return norm(observations), spent / n_steps


def input_sequence(observations, k, n_steps, rng):
    """``(n_steps, K, n_in)``: each network gets its own window of the recording."""
    starts = rng.integers(0, len(observations) - n_steps, size=k)
    return np.stack([observations[s:s + n_steps] for s in starts], axis=1)


def best_time(run, repeats):
    """Fastest of ``repeats`` calls of ``run()`` (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def time_batch(batch, xs, warmup, repeats):
    """Seconds per batch step of a NetworkBatch over the steps in ``xs`` (after warm-up)."""
    k = batch.k
    batch.reset(seeds=range(k))
    for x in xs[:warmup]:
        batch.step(x)
    state = (batch.v.copy(), batch.i_syn.copy(), batch.r.copy(), batch.s.copy())
    timed = xs[warmup:]

    def run():
        batch.v[:], batch.i_syn[:], batch.r[:], batch.s[:] = state
        batch.counts[:] = 0
        for x in timed:
            batch.step(x)

    return best_time(run, repeats) / len(timed)


def f32_dense_step(x, w_in, w_h, w_out, v, i_syn, r, spikes, config, signs):
    """SPEC section 1 with dense float32 matrices, batched over K with ``np.matmul``."""
    a_syn, a_m, a_out = (np.float32(a) for a in config.decays)
    xx = np.concatenate([x, -x], axis=1).astype(np.float32)[:, None, :]
    i_in = np.float32(config.r_in) * np.matmul(xx, w_in)[:, 0]
    for _ in range(config.substeps):
        h = np.float32(config.r_h) * np.matmul((spikes * signs)[:, None, :], w_h)[:, 0]
        i_syn *= a_syn
        i_syn += h
        v[:] = a_m * v + (1 - a_m) * (np.float32(config.v_reset) + i_syn + i_in)
        spikes[:] = v > config.v_th
        v[spikes] = config.v_reset
        r[:] = a_out * r + (1 - a_out) * (spikes * signs / np.float32(config.dt))
    return np.float32(config.r_out) * np.matmul(r[:, None, :], w_out)[:, 0]


def time_numpy(theta, config, xs, repeats, dtype):
    k, n = theta.shape[0], config.n_hidden
    w_in, w_h, w_out = (np.ascontiguousarray(a, dtype=dtype) for a in split_params(theta, config))
    v0 = np.random.default_rng(0).uniform(0.0, config.v_th, size=(k, n)).astype(dtype)
    signs = config.signs.astype(dtype)

    def run():
        v, i_syn, r = v0.copy(), np.zeros_like(v0), np.zeros_like(v0)
        spikes = np.zeros((k, n), dtype=bool)
        for x in xs:
            if dtype == np.float32:
                f32_dense_step(x, w_in, w_h, w_out, v, i_syn, r, spikes, config, signs)
            else:
                float_step(x, w_in, w_h, w_out, v, i_syn, r, spikes, config)

    return best_time(run, repeats) / len(xs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32, help="networks in lockstep (K)")
    parser.add_argument("--density", type=float, default=0.5, help="mask density")
    parser.add_argument("--steps", type=int, default=100, help="timed env steps per repeat")
    parser.add_argument("--repeats", type=int, default=7, help="repeats (fastest is kept)")
    parser.add_argument("--env-steps", type=int, default=3000,
                        help="random-action env steps recorded (and timed) per environment")
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.repeats, args.env_steps = 10, 3, 500
    k, warmup = args.batch, 5
    numpy_steps, numpy_repeats = (2, 1) if args.quick else (5, 3)

    print(f"satrlearn RSNN step benchmark: K={k} networks in lockstep, 256 neurons, 33 substeps, "
          f"mask density {args.density}")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numpy {np.__version__}, numba {numba.__version__}; times per member-env-step, "
          f"fastest of {args.repeats} repeats\n")

    rows = {}
    for env_id, n_in, n_out in ENVS:
        rng = np.random.default_rng(args.seed)
        obs, env_step = record_observations(env_id, args.env_steps, args.seed)
        if obs.shape[1] != n_in:
            raise SystemExit(f"{env_id} has {obs.shape[1]} observations, expected {n_in}")
        cfg = NetworkConfig(n_in=n_in, n_out=n_out)
        theta = rng.random((k, cfg.n_params)) < args.density
        xs = input_sequence(obs, k, warmup + args.steps, rng)

        bitset = NetworkBatch(cfg, theta)
        floats = NetworkBatch(cfg, theta.astype(np.float32))
        t_bit = time_batch(bitset, xs, warmup, args.repeats) / k
        t_float = time_batch(floats, xs, warmup, args.repeats) / k
        n_timed = len(xs) - warmup
        spikes = bitset.counts[:, 0].sum() / (k * n_timed)
        events = bitset.counts[:, 1].sum() / (k * n_timed)
        same = (np.array_equal(bitset.counts, floats.counts)
                and np.array_equal(bitset.s, floats.s))
        t_np32 = time_numpy(theta, cfg, xs[:numpy_steps], numpy_repeats, np.float32) / k
        t_np64 = time_numpy(theta, cfg, xs[:numpy_steps], numpy_repeats, np.float64) / k
        rows[env_id] = dict(n_in=n_in, n_out=n_out, bit=t_bit, float=t_float, np32=t_np32,
                            np64=t_np64, spikes=spikes, events=events, same=same,
                            env=env_step)

    us = 1e6
    w = 30
    names = [f"{e} ({r['n_in']} in, {r['n_out']} out)" for e, r in rows.items()]
    head = "".join(f"{name:>{w}}" for name in names)
    print(f"{'':34}{head}")

    def line(label, fmt):
        print(f"{label:34}" + "".join(f"{fmt(r):>{w}}" for r in rows.values()))

    line("bitset kernel (numba)", lambda r: f"{r['bit'] * us:.1f} us")
    line("float kernel (numba, event-driven)",
         lambda r: f"{r['float'] * us:.1f} us  ({r['float'] / r['bit']:.2f}x)")
    line("numpy dense float32 (matmul)",
         lambda r: f"{r['np32'] * us:.0f} us  ({r['np32'] / r['bit']:.0f}x)")
    line("numpy float_step (float64)",
         lambda r: f"{r['np64'] * us:.0f} us  ({r['np64'] / r['bit']:.0f}x)")
    line("spikes per member-step", lambda r: f"{r['spikes']:.0f}")
    line("synaptic events per member-step", lambda r: f"{r['events']:.0f}")
    line("same spikes, bitset vs float", lambda r: "yes" if r["same"] else "NO")
    line("env.step (random actions)", lambda r: f"{r['env'] * us:.0f} us")
    line("bitset step / env.step", lambda r: f"{100 * r['bit'] / r['env']:.1f} %")
    print("\n(x) = time relative to the bitset kernel; a member-env-step is one network "
          "advancing one environment step (33 LIF substeps).")

    hum = rows["Humanoid-v5"]
    hop = rows["Hopper-v5"]
    print("\nTargets (Humanoid-v5 sizes; Hopper-v5 in brackets):")
    print(f"  bitset >= 30x numpy float_step:  {hum['np64'] / hum['bit']:.0f}x "
          f"[{hop['np64'] / hop['bit']:.0f}x]; float32 matmul twin "
          f"{hum['np32'] / hum['bit']:.0f}x [{hop['np32'] / hop['bit']:.0f}x]")
    print(f"  bitset >= 2.5x numba float:      {hum['float'] / hum['bit']:.2f}x "
          f"[{hop['float'] / hop['bit']:.2f}x]")
    print(f"  bitset <= 10% of Humanoid step:  {100 * hum['bit'] / hum['env']:.1f} %")


if __name__ == "__main__":
    main()
