"""benchmarks/ectr_clip_share.py: where EC+TR's nominal KL goes."""

import functools
import importlib.util
import os

import numpy as np
import pytest

from satrlearn import ECSearch, SATRSearch

from .stub_env import make_stub

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def tool():
    path = os.path.join(HERE, os.pardir, "benchmarks", "ectr_clip_share.py")
    spec = importlib.util.spec_from_file_location("ectr_clip_share", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clip_share_by_hand(tool):
    eps, lr = 1e-3, 0.1
    rho = np.array([eps, 0.5, 1.0 - eps, eps])
    # t = 1: the direction is m / sqrt(v) up to the bias corrections: signs -1, +1, +1, +1
    g = np.array([-1.0, 1.0, 1.0, 1.0])
    m, v = 0.1 * g, 0.001 * g * g
    out = tool.clip_share(rho, m, v, 1, lr, eps, trust_region=0.5, adam_eps=0.0)
    kl = 0.5 * lr ** 2 / (rho * (1.0 - rho))
    assert out["at_bound"] == pytest.approx(0.75)
    assert out["nominal_kl"] == pytest.approx(kl.sum())
    # connections 0 and 2 sit at a bound and are pushed further out; 3 moves inward
    assert out["clipped_share"] == pytest.approx((kl[0] + kl[2]) / kl.sum())
    assert out["scale"] == pytest.approx(np.sqrt(0.5 / kl.sum()))
    with pytest.raises(ValueError, match="no step"):
        tool.clip_share(rho, m, v, 0, lr, eps)


def test_reads_a_run_checkpoint(tool, tmp_path):
    est = ECSearch(pop=6, n_hidden=16, random_state=3, trust_region=7.0, learning_rate=0.2,
                   n_generations=3, checkpoint_dir=tmp_path, checkpoint_every=1)
    est.fit(functools.partial(make_stub))
    out = tool.checkpoint_clip_share(tmp_path)
    assert out["delta"] == 7.0
    assert 0.0 <= out["clipped_share"] <= 1.0
    state = est._opt.state
    direct = tool.clip_share(state["rho"], state["m"], state["v"], int(state["t"]), 0.2,
                             est.rho_eps, 7.0)
    assert out["nominal_kl"] == pytest.approx(direct["nominal_kl"])
    assert out["scale"] == pytest.approx(direct["scale"])


def test_refuses_a_satr_checkpoint(tool, tmp_path):
    SATRSearch(pop=6, n_hidden=16, random_state=3, n_generations=2, checkpoint_dir=tmp_path,
               checkpoint_every=1).fit(functools.partial(make_stub))
    with pytest.raises(SystemExit, match="needs EC or EC"):
        tool.checkpoint_clip_share(tmp_path)
