"""Run folders of ``satrlearn train``: never overwritten, resumable, their history kept per
generation, and nothing left behind by a run that completed no generation.

The runs use a stub environment (20-step episodes) registered below, whose ``reset`` can stop
the process the way a user or the system would: ``SATRLEARN_TEST_STOP`` holds a JSON object
``{"file": PATH, "rows": N, "how": "interrupt" | "kill"}``; once ``PATH`` exists (and, when
``rows`` is given, holds at least ``rows`` CSV data rows) the next reset raises
KeyboardInterrupt (Ctrl-C) or ends the process at once with ``os._exit`` (a SIGKILL: no
``finally`` block, no file closed by Python).
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from satrlearn import RSNNPolicy, SATRSearch, cli, load_checkpoint

from .stub_env import StubEnv

ROOT = Path(__file__).resolve().parents[1]
STUB = "SatrlearnTestStub-v0"
FAULTY = "SatrlearnTestFaulty-v0"
BROKEN = "SatrlearnTestBroken-v0"
STOP = "SATRLEARN_TEST_STOP"
TINY = ["--env", STUB, "--pop", "4", "--n-hidden", "8", "--n-jobs", "1", "--eval-every", "0",
        "--seed", "2", "--quiet"]
KILLED = 9


def _data_rows(path):
    try:
        with open(path, newline="") as fh:
            return max(len(list(csv.reader(fh))) - 1, 0)
    except OSError:
        return 0


class StoppingEnv(StubEnv):
    """The stub environment, stopped on reset as ``SATRLEARN_TEST_STOP`` says."""

    def reset(self, *, seed=None, options=None):
        spec = os.environ.get(STOP)
        if spec:
            stop = json.loads(spec)
            if os.path.exists(stop["file"]) and (
                    stop.get("rows") is None or _data_rows(stop["file"]) >= stop["rows"]):
                if stop["how"] == "kill":
                    os._exit(KILLED)
                raise KeyboardInterrupt
        return super().reset(seed=seed, options=options)


def _broken(**kwargs):
    raise RuntimeError("the simulator licence has expired")


# without gymnasium's passive checker: environments are reused between runs in one process,
# and the checker's bookkeeping breaks when a reset is cut short by the stop
for env_id, entry, kwargs in ((STUB, StoppingEnv, {}),
                              (FAULTY, StubEnv, {"fault": "raise", "fault_step": 3}),
                              (BROKEN, _broken, {})):
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=entry, max_episode_steps=20, kwargs=kwargs,
                     disable_env_checker=True)


def _stop(monkeypatch, path, how="interrupt", rows=None):
    monkeypatch.setenv(STOP, json.dumps({"file": str(path), "rows": rows, "how": how}))


def _clean_error(code, err, *words):
    assert code == 2, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("satrlearn ")
    for word in words:
        assert word in err, f"{word!r} missing from {err!r}"


def _history_text(history, tmp_path):
    return Path(cli.write_history(history, tmp_path / "expected.csv")).read_bytes()


def _run_json(out):
    return json.loads((out / "run.json").read_text())


# --- 11: a run folder is never replaced without --overwrite -------------------------------
def test_out_refuses_a_killed_run_without_run_json(tmp_path, capsys):
    out = tmp_path / "run"

    def stop_at_2(est, record):
        if record["generation"] == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning):  # a run checkpointed, then stopped before run.json
        SATRSearch(pop=4, n_generations=4, n_hidden=8, random_state=1, checkpoint_dir=out,
                   callbacks=[stop_at_2]).fit("CartPole-v1")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert list(before) == ["checkpoint.npz"]
    code = cli.main(["train", *TINY, "--generations", "1", "--out", str(out)])
    _clean_error(code, capsys.readouterr().err, f"--resume {out}", "--overwrite")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_out_refuses_files_of_a_run_and_overwrite_replaces_them(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "history.csv").write_text("generation\n1\n")
    (out / "policy.npz").write_bytes(b"old")
    (out / "notes.txt").write_text("mine\n")
    code = cli.main(["train", *TINY, "--generations", "1", "--out", str(out)])
    _clean_error(code, capsys.readouterr().err, "history.csv", "--overwrite")
    assert (out / "history.csv").read_text() == "generation\n1\n"
    # --overwrite removes the old run's files before the new run starts, so a stopped
    # overwrite leaves no mix of two runs; files that are not a run's are left alone
    _stop(monkeypatch, out / "run.json")  # Ctrl-C in generation 1
    assert cli.main(["train", *TINY, "--generations", "1", "--out", str(out),
                     "--overwrite"]) == 130
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    monkeypatch.delenv(STOP)
    assert cli.main(["train", *TINY, "--generations", "1", "--out", str(out),
                     "--overwrite"]) == 0
    assert _run_json(out)["generations"] == 1
    capsys.readouterr()


def test_default_out_never_reuses_a_folder(tmp_path, monkeypatch, capsys):
    taken = tmp_path / "runs" / "same-second"
    taken.mkdir(parents=True)
    (taken / "run.json").write_text("{}\n")
    monkeypatch.setattr(cli, "_default_out", lambda env_id, algo: str(taken))
    assert cli.main(["train", *TINY, "--generations", "1"]) == 0
    assert (taken / "run.json").read_text() == "{}\n"
    assert _run_json(tmp_path / "runs" / "same-second-2")["generations"] == 1
    capsys.readouterr()


# --- 12 and 13: resume keeps the run's arguments; history.csv grows per generation --------
def test_killed_run_keeps_its_history_and_resumes_without_duplicate_rows(tmp_path, monkeypatch,
                                                                          capsys):
    out = tmp_path / "run"
    env = dict(os.environ, **{STOP: json.dumps({"file": str(out / "history.csv"), "rows": 3,
                                                 "how": "kill"})})
    code = ("import sys, tests.test_cli_runs; from satrlearn import cli; "
            "sys.exit(cli.main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "train", *TINY, "--generations", "6",
                           "--checkpoint-every", "2", "--out", str(out)], check=False, cwd=ROOT,
                          env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == KILLED, done.stderr[-2000:]
    # killed during generation 4: three rows on disk, the checkpoint of generation 2
    assert cli.read_history(out)["generation"] == [1, 2, 3]
    assert load_checkpoint(out).n_generations_ == 2
    run = _run_json(out)
    assert run["status"] == "running" and run["arguments"]["env"] == STUB
    assert not (out / "policy.npz").exists()

    code = cli.main(["train", *TINY, "--generations", "6", "--out", str(out)])
    _clean_error(code, capsys.readouterr().err, "--resume", "--overwrite")

    monkeypatch.delenv(STOP, raising=False)
    assert cli.main(["train", "--resume", str(out), "--n-jobs", "1", "--quiet"]) == 0
    assert "resuming SATRSearch on SatrlearnTestStub-v0 from generation 2" in \
        capsys.readouterr().out
    est = load_checkpoint(out)
    assert est.n_generations_ == 6
    assert (out / "history.csv").read_bytes() == _history_text(est.history_, tmp_path)
    assert cli.read_history(out)["generation"] == [1, 2, 3, 4, 5, 6]
    run = _run_json(out)
    assert run["status"] == "finished" and run["generations"] == 6
    assert run["env"] == STUB
    assert run["arguments"]["env"] == STUB and run["arguments"]["pop"] == 4
    assert run["arguments"]["generations"] == 6 and run["arguments"]["n_hidden"] == 8
    [resume] = run["resumes"]
    assert resume["options"] == {"n_jobs": 1, "quiet": True}
    assert resume["from_generation"] == 2 and resume["to_generation"] == 6
    assert resume["started"] and resume["status"] == "finished"
    # what reads run.json still finds the run's own environment
    assert cli.main(["evaluate", str(out / "policy.npz"), "--episodes", "1"]) == 0
    assert capsys.readouterr().out.startswith(f"{STUB}: mean return")


def test_resume_after_ctrl_c_keeps_the_arguments(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    _stop(monkeypatch, out / "checkpoint.npz")  # Ctrl-C in generation 3
    code = cli.main(["train", *TINY, "--generations", "4", "--checkpoint-every", "2",
                     "--out", str(out)])
    assert code == 130
    assert "interrupted: kept the 2 completed generation(s)" in capsys.readouterr().out
    run = _run_json(out)
    assert run["status"] == "interrupted" and run["interrupted"] is True
    assert cli.read_history(out)["generation"] == [1, 2]

    monkeypatch.delenv(STOP)
    assert cli.main(["train", "--resume", str(out), "--n-jobs", "1"]) == 0
    run = _run_json(out)
    assert run["arguments"]["env"] == STUB and run["arguments"]["pop"] == 4
    assert run["estimator"] == "SATRSearch" and run["params"]["n_hidden"] == 8
    assert run["status"] == "finished" and run["interrupted"] is False
    assert [r["options"] for r in run["resumes"]] == [{"n_jobs": 1}]
    # the closing evaluation uses the run's seed, not the resume command's default
    assert run["final_evaluation"]["policy"]["seed"] == 10_000 + 2
    assert cli.read_history(out)["generation"] == [1, 2, 3, 4]
    assert cli.main(["evaluate", str(out / "best_policy.npz"), "--episodes", "1"]) == 0
    assert cli.main(["plot", str(out), "--out", str(tmp_path / "c.png")]) == 0
    capsys.readouterr()


def test_resume_of_a_run_without_run_json_records_its_arguments(tmp_path, capsys):
    out = tmp_path / "run"

    def stop_at_1(est, record):
        return False  # the callback ends the fit after generation 1

    SATRSearch(pop=4, n_generations=2, n_hidden=8, random_state=1, checkpoint_dir=out,
               callbacks=[stop_at_1]).fit("CartPole-v1")
    assert cli.main(["train", "--resume", str(out), "--n-jobs", "1", "--quiet"]) == 0
    run = _run_json(out)
    assert run["arguments"]["env"] == "CartPole-v1" and run["arguments"]["algo"] == "satr"
    assert run["arguments"]["pop"] == 4 and run["arguments"]["seed"] == 1
    assert run["arguments_from"] == "checkpoint"
    assert len(run["resumes"]) == 1
    assert cli.main(["evaluate", str(out / "policy.npz"), "--episodes", "1"]) == 0
    capsys.readouterr()


def test_resume_refuses_options_it_would_ignore(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--generations", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    before = (out / "run.json").read_bytes()
    code = cli.main(["train", "--resume", str(out), "--pop", "8", "--env", "CartPole-v1"])
    _clean_error(code, capsys.readouterr().err, "--pop", "--env", "--resume")
    assert (out / "run.json").read_bytes() == before


def test_resume_without_checkpoint_after_an_early_kill(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"status": "running", "env": STUB}))
    code = cli.main(["train", "--resume", str(out)])
    _clean_error(code, capsys.readouterr().err, "no checkpoint", "--overwrite")


def test_history_csv_is_written_as_generations_finish(tmp_path, monkeypatch, capsys):
    # stopped (Ctrl-C) on the first reset after generation 2's row reached the file
    out = tmp_path / "run"
    _stop(monkeypatch, out / "history.csv", rows=2)
    assert cli.main(["train", *TINY, "--generations", "50", "--checkpoint-every", "10",
                     "--out", str(out)]) == 130
    assert cli.read_history(out)["generation"] == [1, 2]
    assert (out / "history.csv").read_bytes() == \
        _history_text(load_checkpoint(out).history_, tmp_path)
    capsys.readouterr()


# --- 14: what exists after Ctrl-C or an error ----------------------------------------------
def test_ctrl_c_in_the_first_generation_saves_nothing(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    _stop(monkeypatch, out)  # Ctrl-C once the run folder exists: in generation 1
    assert cli.main(["train", *TINY, "--generations", "3", "--out", str(out)]) == 130
    captured = capsys.readouterr()
    assert "nothing was saved" in captured.err
    assert "saved" not in captured.out
    assert not out.exists()
    # a folder that existed before is kept, empty
    out.mkdir()
    assert cli.main(["train", *TINY, "--generations", "3", "--out", str(out)]) == 130
    assert out.is_dir() and not list(out.iterdir())
    capsys.readouterr()


@pytest.mark.parametrize("env_id, words", [
    (FAULTY, ["simulator exploded"]),  # fails in generation 1, step 3
    (BROKEN, [BROKEN, "licence"]),  # fails when made
    ("NoSuchEnv-v0", ["NoSuchEnv-v0"]),
])
def test_env_error_leaves_no_run_folder(tmp_path, capsys, env_id, words):
    out = tmp_path / "run"
    code = cli.main(["train", *TINY, "--env", env_id, "--generations", "2", "--out", str(out)])
    _clean_error(code, capsys.readouterr().err, *words)
    assert not out.exists()


def test_env_error_after_some_generations_keeps_them_for_resume(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    _stop(monkeypatch, out / "history.csv", rows=2)
    monkeypatch.setattr(StoppingEnv, "reset", _failing_reset)
    code = cli.main(["train", *TINY, "--generations", "5", "--out", str(out)])
    _clean_error(code, capsys.readouterr().err, "no more episodes", f"--resume {out}")
    run = _run_json(out)
    assert run["status"] == "failed" and "no more episodes" in run["error"]
    assert load_checkpoint(out).n_generations_ == 2
    assert cli.read_history(out)["generation"] == [1, 2]
    assert not (out / "policy.npz").exists()


def _failing_reset(self, *, seed=None, options=None):
    stop = json.loads(os.environ[STOP])
    if os.path.exists(stop["file"]) and _data_rows(stop["file"]) >= stop["rows"]:
        raise RuntimeError("no more episodes")
    return StubEnv.reset(self, seed=seed, options=options)


# --- plot --out -----------------------------------------------------------------------------
def test_plot_out_names_the_file_it_writes(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--generations", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    folder = tmp_path / "figures"
    folder.mkdir()
    assert cli.main(["plot", str(out), "--out", str(folder)]) == 0
    target = folder / "learning_curve.png"
    assert capsys.readouterr().out.strip() == f"saved learning curve to {target}"
    assert target.read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["plot", str(out), "--out", str(tmp_path / "curve")]) == 0
    assert capsys.readouterr().out.strip() == \
        f"saved learning curve to {tmp_path / 'curve.png'}"
    assert (tmp_path / "curve.png").is_file() and not (tmp_path / "curve").exists()
    assert cli.main(["plot", str(out), "--out", str(tmp_path / "curve.svg")]) == 0
    assert (tmp_path / "curve.svg").read_text().lstrip().startswith("<?xml")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    capsys.readouterr()


def test_saved_policies_load(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--generations", "1", "--out", str(out)]) == 0
    assert RSNNPolicy.load(out / "best_policy.npz").observation_size == 3
    assert _run_json(out)["status"] == "finished"
    capsys.readouterr()
