"""Probe (issue "SATR that earns its place"): common random numbers for the membranes.

Every candidate of a generation starts its episode from the same initial membrane state,
drawn afresh each generation (the library draws one per candidate), so that the ranking
compares connections rather than membrane luck. Runs SATR's defaults at 3M env steps with
``sweep_defaults.py``'s protocol (true return of ``best_policy_`` on 10 fresh episodes) and
writes to its own folder. A monkeypatch of the library, valid with ``n_jobs=1`` only (the
chunks then run in this process); not an option of the library.

    python benchmarks/probe_common_membranes.py benchmarks/results/satr15crn HalfCheetah-v5 3 4 5
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sweep_defaults as sd  # noqa: E402

import satrlearn.parallel as par  # noqa: E402
import satrlearn.search as search  # noqa: E402

CONFIG = "satr-pop32-etabudget-h256"
STEPS = 3_000_000


def patch():
    """Give every candidate of a generation the same membrane stream."""
    shared = {"seed": 0}
    par.candidate_streams = lambda seed: (None, np.random.default_rng(shared["seed"]))
    real = search.evaluate_population

    def evaluate(*args, **kwargs):
        seeds = args[4]  # the generation's candidate seeds
        shared["seed"] = int(np.random.default_rng(int(seeds[0])).integers(2**62))
        return real(*args, **kwargs)

    search.evaluate_population = evaluate


def run_seeds(argv, patch_library, config=CONFIG, steps=STEPS):
    """``argv = [results, task, seed, ...]``: patch the library, then run the seeds that
    have no JSON yet with ``sweep_defaults.py``'s protocol on one core (shared by the
    probes of this kind)."""
    results, task, seeds = argv[0], argv[1], [int(s) for s in argv[2:]]
    os.makedirs(results, exist_ok=True)
    patch_library()
    cfg = sd.Config.from_name(config)
    for seed in seeds:
        name = sd.run_name(task, cfg, seed, steps)
        if os.path.exists(os.path.join(results, name + ".json")):
            continue
        record = sd.run_one(task, cfg, seed, steps, results, n_jobs=1)
        if record is not None:
            print(name, round(record["best"]["mean"], 1),
                  [round(r) for r in record["best"]["returns"]], flush=True)


def main(argv=None):
    run_seeds(sys.argv[1:] if argv is None else argv, patch)


if __name__ == "__main__":
    main()
