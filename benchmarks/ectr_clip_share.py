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
import re

import numpy as np


def clip_share(path: str, learning_rate: float = 0.15, rho_eps: float = 1e-3,
               beta1: float = 0.9, beta2: float = 0.999, adam_eps: float = 1e-8) -> dict:
    """Numbers for one checkpoint (a ``checkpoint.npz`` or the directory that holds it)."""
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.npz")
    with np.load(path, allow_pickle=False) as z:
        if "state/m" not in z.files:
            raise SystemExit(f"{path}: no Adam moments (state/m): not an EC or EC+TR checkpoint")
        rho, m, v = z["state/rho"], z["state/m"], z["state/v"]
        t = int(z["state/t"])
    if t < 1:
        raise SystemExit(f"{path}: no step taken yet (t = 0)")
    direction = (m / (1.0 - beta1 ** t)) / (np.sqrt(v / (1.0 - beta2 ** t)) + adam_eps)
    step = learning_rate * direction
    kl = 0.5 * step * step / (rho * (1.0 - rho))
    tol = rho_eps * 1.0001
    at_bound = (rho <= tol) | (rho >= 1.0 - tol)
    outward = at_bound & (((rho < 0.5) & (step < 0)) | ((rho > 0.5) & (step > 0)))
    nominal = float(kl.sum())
    match = re.search(r"ectr-([0-9.eE+]+)_", path)
    delta = float(match.group(1)) if match else None
    return {"connections": rho.size, "at_bound": float(at_bound.mean()),
            "nominal_kl": nominal, "clipped_share": float(kl[outward].sum()) / nominal,
            "delta": delta, "scale": None if delta is None else float(np.sqrt(delta / nominal))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", help="checkpoint directories or .npz files")
    ap.add_argument("--learning-rate", type=float, default=0.15)
    args = ap.parse_args(argv)
    print(f"{'checkpoint':58s} {'at bound':>8s} {'nominal KL':>10s} {'clipped':>8s} "
          f"{'delta':>7s} {'x EC step':>9s}")
    for path in args.checkpoints:
        r = clip_share(path, args.learning_rate)
        name = os.path.basename(os.path.normpath(path))
        delta = "-" if r["delta"] is None else f"{r['delta']:g}"
        scale = "-" if r["scale"] is None else f"{r['scale']:.2f}"
        print(f"{name[:58]:58s} {r['at_bound']:8.0%} {r['nominal_kl']:10.0f} "
              f"{r['clipped_share']:8.0%} {delta:>7s} {scale:>9s}")


if __name__ == "__main__":
    main()
