"""Probe (issue "SATR that earns its place"): one env episode seed per candidate.

The library gives every candidate of a generation the same env reset seed (common random
numbers). On HalfCheetah-v5 whole generations then score about 0: every candidate falls
silent from that one starting state, and the ranking orders them by the control cost of a
silent network, a push towards silence. This probe draws a fresh episode seed per candidate
(from the candidate's own seed, so antithetic twins still share theirs) and otherwise runs
SATR's defaults at 3M env steps with ``sweep_defaults.py``'s protocol (true return of
``best_policy_`` on 10 fresh episodes). A monkeypatch of the library, valid with
``n_jobs=1`` only (the chunks then run in this process).

    python benchmarks/probe_episode_seeds.py benchmarks/results/satr15eps HalfCheetah-v5 3 4 5
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import probe_common_membranes as pcm  # noqa: E402

import satrlearn.parallel as par  # noqa: E402

CONFIG = os.environ.get("PROBE_CONFIG", "satr-pop32-etabudget-h256")
STEPS = int(os.environ.get("PROBE_STEPS", 3_000_000))


def own_seeds(seeds, n_episodes):
    """One row of env episode seeds per candidate, drawn from the candidate's seed."""
    return np.stack([np.random.default_rng([int(s), 7]).integers(0, 2**31 - 1, n_episodes)
                     for s in seeds])


def patch():
    real = par.evaluate_chunk

    def chunk(strategy, dist, seeds, signs, labels, source, config, action_map, normalizer,
              episode_seeds, deadline=None):
        return real(strategy, dist, seeds, signs, labels, source, config, action_map,
                    normalizer, own_seeds(seeds, len(episode_seeds)), deadline)

    par.evaluate_chunk = chunk


def main(argv=None):
    pcm.run_seeds(sys.argv[1:] if argv is None else argv, patch, CONFIG, STEPS)


if __name__ == "__main__":
    main()
