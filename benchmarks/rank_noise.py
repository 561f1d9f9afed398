"""Do candidates need more than one episode to rank well? A measurement on a trained search.

Takes the search distribution of a checkpointed run (``satrlearn train`` writes one into its
run folder), samples a population from it as a generation would, and runs every candidate on

* ``E`` episodes that all candidates share (common random numbers, what ``fit`` does), and
* ``E`` episodes of its own (independent seeds),

then reports the Spearman rank correlation between the training fitness (return less the
reward offset per step) of

* one shared episode and the mean over the other ``E - 1`` shared ones,
* one own episode and the mean over the other ``E - 1`` own ones,
* the mean over ``E`` shared and the mean over ``E`` own episodes (the ranking's stability),

and the share of candidates whose rank moves by more than a quarter of the population
between one episode and the mean of the others. A correlation near 1 says one episode ranks
candidates as well as many would; a low one says ``n_episodes`` (or re-evaluating near
ties) would buy a better ranking.

    python benchmarks/rank_noise.py runs/Hopper-v5-satr-<date>   # any checkpointed run
    python benchmarks/rank_noise.py RUN_DIR --episodes 5 --pop 64 --seed 1
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import spearmanr

from satrlearn import load_checkpoint
from satrlearn.rollout import EnvSource, cached_envs, run_episodes
from satrlearn.shaping import shaped_fitness


def fitness_per_episode(est, source, params, seeds_per_candidate):
    """Training fitness ``(K, E)`` of every candidate on each of its episodes."""
    config, action_map = est.network_config_, est.policy_.action_map
    k, n_ep = seeds_per_candidate.shape
    out = np.zeros((k, n_ep))
    envs = cached_envs(source, k)
    for e in range(n_ep):  # one episode at a time: per-episode lengths for the offset
        res = run_episodes(config, params, action_map, est._normalizer, envs,
                           seeds_per_candidate[:, e:e + 1],
                           [np.random.default_rng(1000 * e + i) for i in range(k)])
        out[:, e] = shaped_fitness(res["returns"], res["lengths"], 1, est.reward_offset_)
    return out


def leave_one_out(fit):
    """Spearman correlation of episode 0 against the mean of the others, and rank moves."""
    first, rest = fit[:, 0], fit[:, 1:].mean(axis=1)
    rho = spearmanr(first, rest).statistic
    ranks_first = np.argsort(np.argsort(first))
    ranks_rest = np.argsort(np.argsort(rest))
    moved = np.mean(np.abs(ranks_first - ranks_rest) > len(first) / 4)
    return rho, moved


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run folder with checkpoint.npz")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--pop", type=int, default=None, help="default: the run's population")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    est = load_checkpoint(args.run, n_jobs=1)
    source = EnvSource(est._env_id, max_episode_steps=est.max_episode_steps)
    strategy = est._make_strategy()
    pop = args.pop or est.pop
    rng = np.random.default_rng(args.seed)
    seeds, signs = strategy.candidates(rng, pop)
    dist = strategy.distribution(est._state)
    # candidates are rebuilt from their seeds exactly as the workers rebuild them
    params = np.stack([strategy.sample(dist, s, g) for s, g in zip(seeds, signs)])
    mode = strategy.mode(est._state)
    flips = float(np.mean(np.sum(params != mode, axis=1))) if strategy.binary else float("nan")

    shared = rng.integers(0, 2**31 - 1, size=args.episodes)
    own = rng.integers(0, 2**31 - 1, size=(pop, args.episodes))
    fit_shared = fitness_per_episode(est, source, params,
                                     np.broadcast_to(shared, (pop, args.episodes)))
    fit_own = fitness_per_episode(est, source, params, own)

    print(f"{est._env_id}: generation {est.n_generations_} of {type(est).__name__}, population "
          f"{pop}, {args.episodes} episodes per candidate, reward offset {est.reward_offset_:g}")
    if strategy.binary:
        print(f"connections in which a candidate differs from the mode: {flips:.0f} of "
              f"{params.shape[1]}")
    for name, fit in (("shared episodes (as fit runs them)", fit_shared),
                      ("own episodes", fit_own)):
        rho, moved = leave_one_out(fit)
        print(f"{name:<36} one episode vs mean of the other {args.episodes - 1}: Spearman "
              f"{rho:.2f}; candidates moving > pop/4 ranks: {moved:.0%}")
        spread = fit.std(axis=1).mean()
        print(f"{'':<36} fitness spread: across candidates {fit.mean(axis=1).std():.1f}, "
              f"across one candidate's episodes {spread:.1f}")
    stab = spearmanr(fit_shared.mean(axis=1), fit_own.mean(axis=1)).statistic
    print(f"mean of {args.episodes} shared vs mean of {args.episodes} own episodes: Spearman "
          f"{stab:.2f}")


if __name__ == "__main__":
    main()
