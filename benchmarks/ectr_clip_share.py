"""How much of EC+TR's KL budget the clip removes: read EC / EC+TR checkpoints of compare.py.

EC+TR (``ECSearch(trust_region=delta)``) scales the Adam step so that its nominal local KL
``1/2 sum d^2 / (rho (1 - rho))`` equals ``delta`` and then clips ``rho`` to
``[rho_eps, 1 - rho_eps]`` (SPEC section 3). For the last step stored in a checkpoint this
prints the share of connections at a bound, the share of the nominal KL that belongs to
connections at a bound pushed further out (the part the clip removes), and the factor by
which ``delta`` rescales the step EC's own rule would take from the same state::

    python benchmarks/ectr_clip_share.py \\
        benchmarks/results/claims/checkpoints/HalfCheetah-v5_ectr-*_seed0_5000000steps

(``compare.py`` keeps a cell's checkpoint directory under ``RESULTS/checkpoints/``; run a cell
again to recreate it.)
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from satrlearn.checkpoint import read_checkpoint
from satrlearn.strategies.bernoulli import local_kl


def clip_share(rho, m, v, t, learning_rate, rho_eps, trust_region=None,
               beta1: float = 0.9, beta2: float = 0.999, adam_eps: float = 1e-8) -> dict:
    """Where the nominal KL of EC's last Adam step (moments ``m``, ``v`` after ``t`` steps) goes.

    Returns the share of connections at a bound, the step's nominal KL at ``learning_rate``,
    the share of that KL on connections at a bound pushed further out (what the clip removes)
    and, with ``trust_region``, the factor EC+TR rescales the step by.
    """
    if t < 1:
        raise ValueError("no step taken yet (t = 0)")
    step = learning_rate * (m / (1.0 - beta1 ** t)) / (np.sqrt(v / (1.0 - beta2 ** t)) + adam_eps)
    tol = rho_eps * 1.0001
    at_bound = (rho <= tol) | (rho >= 1.0 - tol)
    outward = at_bound & (((rho < 0.5) & (step < 0)) | ((rho > 0.5) & (step > 0)))
    nominal = local_kl(step, rho)
    return {"connections": rho.size, "at_bound": float(at_bound.mean()), "nominal_kl": nominal,
            "clipped_share": local_kl(step[outward], rho[outward]) / nominal,
            "scale": None if trust_region is None else float(np.sqrt(trust_region / nominal))}


def checkpoint_clip_share(path) -> dict:
    """:func:`clip_share` for an EC or EC+TR checkpoint (a folder or ``checkpoint.npz``),
    with the learning rate, ``rho_eps`` and ``trust_region`` the run used."""
    meta, arrays = read_checkpoint(path)
    if "state/m" not in arrays:
        raise SystemExit(f"{path}: a {meta['estimator']} checkpoint; this needs EC or EC+TR")
    params = meta["params"]
    out = clip_share(arrays["state/rho"], arrays["state/m"], arrays["state/v"],
                     int(arrays["state/t"]), params["learning_rate"], params["rho_eps"],
                     params.get("trust_region"))
    return {**out, "delta": params.get("trust_region")}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", help="checkpoint directories or .npz files")
    args = ap.parse_args(argv)
    print(f"{'checkpoint':58s} {'at bound':>8s} {'nominal KL':>10s} {'clipped':>8s} "
          f"{'delta':>7s} {'x EC step':>9s}")
    for path in args.checkpoints:
        r = checkpoint_clip_share(path)
        name = os.path.basename(os.path.normpath(path))
        delta = "-" if r["delta"] is None else f"{r['delta']:g}"
        scale = "-" if r["scale"] is None else f"{r['scale']:.2f}"
        print(f"{name[:58]:58s} {r['at_bound']:8.0%} {r['nominal_kl']:10.0f} "
              f"{r['clipped_share']:8.0%} {delta:>7s} {scale:>9s}")


if __name__ == "__main__":
    main()
