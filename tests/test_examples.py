"""Smoke-test every script in examples/ with the tiny budget of SATRLEARN_EXAMPLE_QUICK=1."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# script -> patterns its output must contain
EXPECTED = {
    "fit_cartpole.py": [r"trained 2 generations, \d+ env steps",
                        r"CartPole-v1 score \(mean return over 5 new episodes\): [\d.]+"],
    "compare_strategies.py": [r"algorithm\s+final det\s+best eval\s+score",
                              *(rf"\n{name}\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+" for name in
                                ("SATR", "EC", r"EC\+TR", "ES"))],
    "run_saved_policy.py": [r"saved a CartPole-v1 policy to ",
                            r"loaded RSNNPolicy\(n_in=4, n_hidden=32",
                            r"episode 2: return [\d.]+, \d+ steps",
                            r"policy\.predict\(obs, state, episode_start\)"],
    "fit_hopper.py": [r"Hopper-v5: best policy's true return -?[\d.]+ over 5 fresh episodes, "
                      r"-?[\d.]+ m travelled, after 1 generations",
                      r"saved the best policy to hopper_policy\.npz"],
}


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", [
    pytest.param(name, marks=[pytest.mark.mujoco] if "hopper" in name else [])
    for name in sorted(EXPECTED)])
def test_example_runs(script, tmp_path):
    env = dict(os.environ, SATRLEARN_EXAMPLE_QUICK="1")
    done = subprocess.run([sys.executable, str(EXAMPLES / script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for pattern in EXPECTED[script]:
        assert re.search(pattern, done.stdout), f"{pattern!r} not in:\n{done.stdout}"
    if script == "fit_hopper.py":
        assert (tmp_path / "hopper_policy.npz").is_file()
