"""The Python code of README.md and docs/ runs, so the pages cannot drift from the library.

Every ```python block of a page (README.md, and every .md file under docs/) runs, in the order
of the page, in one namespace for the page (a later block uses what an earlier one defined, as
a reader running them in one session would), in a fresh temporary working directory. That
directory holds ``policy.npz``, a small untrained Hopper-v5 policy standing for the file
``satrlearn train`` writes, which pages load by that name. A block written as a doctest
session (``>>>`` prompts) is checked as a doctest. Blocks in other languages (```bash, or no
language) are not run.

A block is skipped only when the line right before it (blank lines aside) is a marker such as
``<!-- snippet: skip (trains for 10 minutes on Hopper-v5) -->``. The reason is required and
shows in pytest's summary of skipped tests, one entry per skipped block.
"""

import doctest
import re
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from satrlearn import NetworkConfig, RSNNPolicy
from satrlearn.normalization import ObservationNormalizer

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<lang>[^\n`]*)\n(?P<code>.*?)^(?P=fence)[ \t]*$",
                   re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!--\s*snippet:(?P<body>.*?)-->", re.DOTALL)
PYTHON = ("python", "py", "pycon")
SKIP = re.compile(r"^\s*skip\s*\((?P<reason>[^()]*\S[^()]*)\)\s*$")


def _name(page):
    return page.relative_to(ROOT).as_posix()


def _blocks(page):
    """``(line, code, skip_reason)`` of every python block of ``page``; line is 1-based."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        if m["lang"].strip().lower() not in PYTHON:
            continue
        line = text.count("\n", 0, m.start("code")) + 1
        before = text[:m.start()].rstrip()
        start = before.rfind("<!--")
        marker = MARKER.match(before, start) if before.endswith("-->") else None
        reason = None
        if marker is not None:
            skip = SKIP.match(marker["body"])
            if skip is None:
                raise ValueError(f"{_name(page)}:{before.count(chr(10), 0, start) + 1}: a "
                                 "snippet marker must read '<!-- snippet: skip (reason) -->', "
                                 f"got {marker[0]!r}.")
            reason = skip["reason"].strip()
        blocks.append((line, m["code"], reason))
    return blocks


def _runnable_pages():
    return [page for page in PAGES if any(r is None for _, _, r in _blocks(page))]


def _skipped_blocks():
    return [(_name(page), line, reason) for page in PAGES
            for line, _, reason in _blocks(page) if reason is not None]


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory):
    """A small untrained Hopper-v5 policy, saved as ``satrlearn train`` saves one."""
    env = gym.make("Hopper-v5")
    n_in, n_out = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    config = NetworkConfig(n_in=n_in, n_out=n_out, n_hidden=32)
    params = np.random.default_rng(0).random(config.n_params) < 0.5
    policy = RSNNPolicy(config, params, ObservationNormalizer(n_in), env.action_space, seed=0)
    return Path(policy.save(tmp_path_factory.mktemp("policy") / "policy.npz"))


def _run_doctest(code, namespace, where, line):
    test = doctest.DocTestParser().get_doctest(code, namespace, where, where, line - 1)
    report = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=report.append, clear_globs=False)
    if runner.failures:
        pytest.fail(f"{where}:{line}: doctest failed\n" + "".join(report), pytrace=False)


# docs/api.md interrupts a fit on purpose, to show resuming
@pytest.mark.filterwarnings("ignore:fit interrupted:RuntimeWarning")
@pytest.mark.parametrize("page", _runnable_pages(), ids=_name)
def test_page_snippets_run(page, policy_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(policy_file, tmp_path / "policy.npz")
    namespace = {"__name__": "__main__"}
    for line, code, reason in _blocks(page):
        if reason is not None:
            continue
        if code.lstrip().startswith(">>>"):
            _run_doctest(code, namespace, _name(page), line)
        else:
            # pad with blank lines so that a traceback points at the line in the page
            code = compile("\n" * (line - 1) + code, str(page), "exec")
            exec(code, namespace)  # noqa: S102 (running the pages' code is the point)


@pytest.mark.parametrize("page, line, reason", _skipped_blocks(),
                         ids=[f"{p}:{line}" for p, line, _ in _skipped_blocks()])
def test_skipped_snippet(page, line, reason):
    pytest.skip(f"{page}:{line}: {reason}")


def test_snippets_are_found():
    """The README and the guides have code that runs (guards the extraction itself)."""
    runnable = {_name(page) for page in _runnable_pages()}
    assert {"README.md", "docs/quickstart.md", "docs/bring-your-own-loop.md",
            "docs/writing-a-strategy.md"} <= runnable


def test_markers_stand_before_python_blocks():
    """A marker anywhere else would skip nothing, silently."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in MARKER.finditer(text):
            fence = FENCE.match(text[m.end():].lstrip(" \t\n"))
            line = text.count("\n", 0, m.start()) + 1
            assert fence is not None and fence["lang"].strip().lower() in PYTHON, (
                f"{_name(page)}:{line}: a snippet marker must stand right before a "
                "```python block")
