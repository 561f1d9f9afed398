"""The ``satrlearn`` command: train, evaluate and plot, their files, and their error messages."""

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import satrlearn
from satrlearn import RSNNPolicy, SATRSearch, cli
from satrlearn.search import HISTORY_KEYS

TINY = ["--env", "CartPole-v1", "--pop", "8", "--generations", "2", "--n-hidden", "32",
        "--n-jobs", "1", "--seed", "3", "--quiet"]
FILES = ("policy.npz", "best_policy.npz", "history.csv", "learning_curve.png", "run.json")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _console_script():
    """The installed ``satrlearn`` executable of the Python running the tests."""
    here = Path(sys.executable).parent / ("satrlearn.exe" if os.name == "nt" else "satrlearn")
    found = str(here) if here.exists() else shutil.which("satrlearn")
    assert found, ("the satrlearn console script is not installed; run pip install -e . (or "
                   "pip install .) so that setup.cfg's entry point is created.")
    return found


def _assert_clean_error(code, err, *words):
    """Exit code 2, one message line on stderr, no traceback, naming the problem."""
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert lines, "expected an error message on stderr"
    assert "error" in lines[-1]
    for word in words:
        assert word in err, f"{word!r} missing from the message: {err!r}"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("runs") / "cartpole"
    code = cli.main(["train", *TINY, "--out", str(out)])
    assert code == 0
    return out


def test_train_writes_every_file(run_dir):
    for name in FILES:
        path = run_dir / name
        assert path.is_file() and path.stat().st_size > 0, name
    assert (run_dir / "learning_curve.png").read_bytes()[:8] == PNG_MAGIC


def test_train_history_csv_has_a_row_per_generation(run_dir):
    with open(run_dir / "history.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(HISTORY_KEYS)
    assert len(rows) == 1 + 2
    assert [int(r[0]) for r in rows[1:]] == [1, 2]
    steps = [int(r[rows[0].index("env_steps")]) for r in rows[1:]]
    assert 0 < steps[0] < steps[1]
    history = cli.read_history(run_dir)
    assert list(history) == list(HISTORY_KEYS)
    assert history["generation"] == [1, 2]
    assert all(isinstance(v, float) for v in history["return_mean"])


def test_train_run_json_describes_the_run(run_dir):
    run = json.loads((run_dir / "run.json").read_text())
    history = cli.read_history(run_dir)
    assert run["satrlearn_version"] == satrlearn.__version__
    assert run["estimator"] == "SATRSearch"
    assert run["arguments"]["env"] == "CartPole-v1"
    assert run["arguments"]["pop"] == 8
    assert "callbacks" not in run["params"]
    assert run["params"]["n_hidden"] == 32 and run["params"]["random_state"] == 3
    assert run["generations"] == 2
    assert run["env_steps"] == history["env_steps"][-1]
    assert run["final_return_det"] == history["return_det"][-1]
    # the best score is the final selection's; the shortlist starts with the best evaluation
    best_eval = np.nanmax(np.fmax(history["eval_mean"], history["eval_top_mean"]))
    if run["selection"] is None:  # fewer than two evaluated networks
        assert run["best_score"] == best_eval
    else:
        assert run["selection"]["eval_scores"][0] == best_eval
        assert run["best_score"] == max(run["selection"]["final_means"])
    assert run["reward_offset"] == 0.0  # CartPole pays no survival bonus
    for name in ("policy", "best_policy"):
        final = run["final_evaluation"][name]
        assert final["episodes"] == 5 and final["true_return_mean"] > 0
        assert final["episode_length_mean"] > 0 and final["distance_mean"] is None  # no x
    assert run["interrupted"] is False and run["status"] == "finished"
    assert run["env"] == "CartPole-v1" and run["started"] <= run["finished"]
    assert "resumes" not in run
    assert run["fit_wall_time"] > 0


def test_train_saves_loadable_policies(run_dir):
    for name in ("policy.npz", "best_policy.npz"):
        policy = RSNNPolicy.load(run_dir / name)
        assert policy.config.n_hidden == 32
        assert policy.observation_size == 4
        assert policy.binary


def test_train_prints_where_it_saved_and_the_final_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for name in ("policy.npz", "best_policy.npz", "history.csv", "run.json"):
        assert f"to {out / name}" in text
    last = text.strip().splitlines()[-1]
    assert re.fullmatch(r"after 2 generations, \d+ env steps, [\d.]+ s: best policy true "
                        r"return -?[\d.]+ ± [\d.]+ over 5 fresh episodes", last), last
    assert re.search(r"final policy: true return -?[\d.]+ ± [\d.]+ over 5 fresh episodes",
                     text)


def test_train_refuses_to_overwrite_a_run(run_dir, capsys):
    code = cli.main(["train", *TINY, "--out", str(run_dir)])
    _assert_clean_error(code, capsys.readouterr().err, "--overwrite")


def test_train_other_algorithms(tmp_path, capsys):
    for algo, extra in (("ec", ["--trust-region", "0.5"]), ("es", ["--sigma", "0.2"])):
        out = tmp_path / algo
        args = ["train", *TINY, "--generations", "1", "--algo", algo, *extra, "--out", str(out)]
        assert cli.main(args) == 0
        run = json.loads((out / "run.json").read_text())
        assert run["estimator"] == cli.ALGORITHMS[algo]
        assert run["generations"] == 1
    assert json.loads((tmp_path / "ec" / "run.json").read_text())["params"]["trust_region"] == 0.5
    assert not RSNNPolicy.load(tmp_path / "es" / "policy.npz").binary
    capsys.readouterr()


def test_evaluate_prints_mean_and_std(run_dir, capsys):
    code = cli.main(["evaluate", str(run_dir / "policy.npz"), "--env", "CartPole-v1",
                     "--episodes", "2", "--seed", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert re.search(r"CartPole-v1: mean return [\d.]+ ± [\d.]+ over 2 episodes", out), out


def test_evaluate_takes_the_env_from_run_json(run_dir, capsys):
    assert cli.main(["evaluate", str(run_dir / "best_policy.npz"), "--episodes", "1"]) == 0
    assert "CartPole-v1: mean return" in capsys.readouterr().out


def test_evaluate_without_env_or_run_json(run_dir, tmp_path, capsys):
    lone = tmp_path / "lone.npz"
    shutil.copy(run_dir / "policy.npz", lone)
    code = cli.main(["evaluate", str(lone)])
    _assert_clean_error(code, capsys.readouterr().err, "--env")


def test_evaluate_wrong_env_for_the_policy(run_dir, capsys):
    code = cli.main(["evaluate", str(run_dir / "policy.npz"), "--env", "Pendulum-v1"])
    _assert_clean_error(code, capsys.readouterr().err, "observations")


def test_evaluate_video_needs_moviepy(run_dir, tmp_path, capsys):
    try:
        import moviepy  # noqa: F401
    except ImportError:
        code = cli.main(["evaluate", str(run_dir / "policy.npz"), "--env", "CartPole-v1",
                         "--episodes", "1", "--video", str(tmp_path / "video")])
        _assert_clean_error(code, capsys.readouterr().err, "moviepy", "satrlearn[video]")
    else:
        pytest.importorskip("pygame")  # CartPole renders with pygame
        code = cli.main(["evaluate", str(run_dir / "policy.npz"), "--env", "CartPole-v1",
                         "--episodes", "1", "--video", str(tmp_path / "video")])
        assert code == 0
        assert list((tmp_path / "video").glob("*.mp4"))


def test_plot_redraws_the_learning_curve(run_dir, tmp_path, capsys):
    target = tmp_path / "curve.png"
    assert cli.main(["plot", str(run_dir), "--out", str(target)]) == 0
    assert target.read_bytes()[:8] == PNG_MAGIC
    assert f"saved learning curve to {target}" in capsys.readouterr().out
    # the CSV itself is accepted too
    other = tmp_path / "curve.svg"
    assert cli.main(["plot", str(run_dir / "history.csv"), "--out", str(other)]) == 0
    assert other.read_text().lstrip().startswith("<?xml")


def test_plot_history_from_an_estimator(tmp_path):
    pytest.importorskip("matplotlib")
    from satrlearn.plotting import plot_history

    history = {key: [] for key in HISTORY_KEYS}
    for g in range(1, 4):
        nan = float("nan")
        row = {"generation": g, "return_mean": 10.0 * g, "return_max": 20.0 * g,
               "return_min": 1.0, "fitness_mean": 5.0 * g, "fitness_max": 12.0 * g,
               "fitness_min": -3.0, "reward_offset": 1.0,
               "eval_mean": nan if g < 3 else 40.0, "eval_std": nan if g < 3 else 2.0,
               "eval_episodes": 0 if g < 3 else 5, "eval_top_mean": nan if g < 3 else 45.0,
               "eval_top_std": nan if g < 3 else 3.0, "return_det": 15.0 * g,
               "signal_energy": 2.0 / g, "noise_energy": 1.9 / g, "signal_to_noise": 2.0 / 1.9,
               "signal_split": 0.1 / g, "signal_path": 0.01 / g, "eta": 3.0,
               "kl": 1.0 / g, "mean_p": 0.5, "entropy": 0.69, "env_steps": 100 * g,
               "episodes": 8, "wall_time": 0.5 * g}
        for key in HISTORY_KEYS:
            history[key].append(row[key])
    path = plot_history(history, tmp_path / "h.png", title="test")
    assert Path(path).read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="no generation"):
        plot_history({key: [] for key in HISTORY_KEYS}, tmp_path / "empty.png")
    with pytest.raises(ValueError, match="return_det"):
        plot_history({"generation": [1], "return_mean": [1.0], "return_max": [1.0]},
                     tmp_path / "partial.png")


def test_plot_errors(tmp_path, capsys):
    code = cli.main(["plot", str(tmp_path / "nowhere")])
    _assert_clean_error(code, capsys.readouterr().err, "nowhere")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "history.csv").write_text("generation,return_mean\n1,abc\n")
    code = cli.main(["plot", str(bad)])
    _assert_clean_error(code, capsys.readouterr().err, "not a number")
    (bad / "history.csv").write_text("generation,return_mean\n1,2,3\n")
    code = cli.main(["plot", str(bad)])
    _assert_clean_error(code, capsys.readouterr().err, "damaged")
    (bad / "history.csv").write_text("generation,return_mean\n1,2\n")
    code = cli.main(["plot", str(bad)])
    _assert_clean_error(code, capsys.readouterr().err, "return_det")


def test_unknown_env(tmp_path, capsys):
    out = tmp_path / "never"
    code = cli.main(["train", *TINY, "--env", "NoSuchEnv-v0", "--out", str(out)])
    _assert_clean_error(code, capsys.readouterr().err, "NoSuchEnv-v0")
    assert not out.exists()


def test_unknown_algorithm(capsys):
    code = cli.main(["train", *TINY, "--algo", "ppo"])
    _assert_clean_error(code, capsys.readouterr().err, "ppo", "satr")


@pytest.mark.parametrize("option, value", [
    ("--pop", "0"), ("--pop", "ten"), ("--generations", "-1"), ("--n-jobs", "0"),
    ("--eta", "-0.5"), ("--eta", "nan"), ("--seed", "1.5"), ("--total-timesteps", "-100"),
    ("--total-timesteps", "1e9x"), ("--max-time", "0"), ("--max-time", "inf"),
    ("--reward-offset", "-1"), ("--reward-offset", "nan"), ("--reward-offset", "survival"),
    ("--offset-schedule", "cosine"), ("--eval-episodes", "0"), ("--eval-every", "-2"),
])
def test_bad_numbers(option, value, capsys):
    code = cli.main(["train", *TINY, option, value])
    _assert_clean_error(code, capsys.readouterr().err, option)


def test_options_of_another_algorithm(capsys):
    code = cli.main(["train", *TINY, "--algo", "ec", "--eta", "0.5"])
    _assert_clean_error(code, capsys.readouterr().err, "--eta", "satr")
    code = cli.main(["train", *TINY, "--algo", "es", "--pop", "7"])
    _assert_clean_error(code, capsys.readouterr().err, "even")


def test_missing_policy_file(tmp_path, capsys):
    code = cli.main(["evaluate", str(tmp_path / "missing.npz"), "--env", "CartPole-v1"])
    _assert_clean_error(code, capsys.readouterr().err, "missing.npz")


def _other_npz():
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.zeros(3))
    return buffer.getvalue()


@pytest.mark.parametrize("content", [b"not a policy at all\n", b"PK\x03\x04 truncated zip",
                                     _other_npz()], ids=["text", "truncated", "other-npz"])
def test_garbage_policy_file(tmp_path, capsys, content):
    path = tmp_path / "garbage.npz"
    path.write_bytes(content)
    code = cli.main(["evaluate", str(path), "--env", "CartPole-v1"])
    _assert_clean_error(code, capsys.readouterr().err, "garbage.npz", "policy file")


def test_no_command_and_version(capsys):
    assert cli.main([]) == 2
    assert "train" in capsys.readouterr().err
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"satrlearn {satrlearn.__version__}"


def test_console_script_reports_errors_without_traceback(tmp_path):
    script = _console_script()
    done = subprocess.run([script, "--version"], check=False, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and satrlearn.__version__ in done.stdout
    done = subprocess.run([script, "train", "--env", "NoSuchEnv-v0", "--out",
                           str(tmp_path / "x")], check=False, capture_output=True, text=True,
                          timeout=120)
    _assert_clean_error(done.returncode, done.stderr, "NoSuchEnv-v0")


@pytest.mark.skipif(os.name == "nt", reason="SIGINT delivery is POSIX-specific")
def test_ctrl_c_saves_the_completed_generations(tmp_path):
    out = tmp_path / "interrupted"
    cmd = [_console_script(), "train", "--env", "CartPole-v1", "--pop", "8", "--generations",
           "100000", "--n-hidden", "32", "--n-jobs", "1", "--out", str(out)]
    # a shell that starts jobs in the background ignores SIGINT; the test wants a terminal's.
    # The child only resets one signal before exec, which takes no lock another thread holds.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(  # noqa: PLW1509
                                signal.SIGINT, signal.SIG_DFL))
    err_chunks = []
    progressed = threading.Event()

    def read_progress():  # the progress bar on stderr says when generations have completed
        while True:
            chunk = proc.stderr.read(64)
            if not chunk:
                return
            err_chunks.append(chunk)
            if re.search(r"\b([3-9]|\d\d+)/100000", "".join(err_chunks[-4:])):
                progressed.set()

    reader = threading.Thread(target=read_progress, daemon=True)
    reader.start()
    try:
        assert progressed.wait(120), "no generation completed: " + "".join(err_chunks)[-500:]
        proc.send_signal(signal.SIGINT)
        stdout = proc.stdout.read()
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(10)
    stderr = "".join(err_chunks)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "interrupted: kept the" in stdout
    for name in FILES:
        assert (out / name).is_file(), name
    run = json.loads((out / "run.json").read_text())
    assert run["interrupted"] is True and run["status"] == "interrupted"
    assert run["generations"] >= 3
    assert len(cli.read_history(out)["generation"]) == run["generations"]
    assert (out / "checkpoint.npz").is_file()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_train_checkpoints_and_resume_finishes_the_planned_run(tmp_path, capsys):
    from satrlearn import SATRSearch, load_checkpoint

    out = tmp_path / "run"

    def stop_at_2(est, record):
        if record["generation"] == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning):
        SATRSearch(pop=6, n_generations=4, n_hidden=16, random_state=1, checkpoint_dir=out,
                   callbacks=[stop_at_2]).fit("CartPole-v1")
    assert cli.main(["train", "--resume", str(out), "--n-jobs", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"resuming SATRSearch on CartPole-v1 from generation 2 \(\d+ env steps, "
                     r"\d+ s\) towards 4 generations", printed), printed
    assert "after 4 generations" in printed
    with open(out / "history.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 4
    full = SATRSearch(pop=6, n_generations=4, n_hidden=16, random_state=1).fit("CartPole-v1")
    assert load_checkpoint(out).history_["return_det"] == full.history_["return_det"]


def test_train_writes_a_checkpoint(run_dir):
    assert (Path(run_dir) / "checkpoint.npz").is_file()


def test_resume_without_checkpoint(tmp_path, capsys):
    assert cli.main(["train", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no checkpoint" in err and "Traceback" not in err


def test_train_with_a_step_budget_and_shaping(tmp_path, capsys):
    # a budget in env steps instead of generations; an explicit offset on a bonus-free task
    out = tmp_path / "run"
    args = ["train", "--env", "CartPole-v1", "--pop", "8", "--n-hidden", "16", "--n-jobs", "1",
            "--quiet", "--total-timesteps", "600", "--reward-offset", "0.5", "--eval-every",
            "2", "--eval-episodes", "2", "--out", str(out)]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert "600 env steps" in text.splitlines()[0]
    assert "less 0.5 per step" in text
    run = json.loads((out / "run.json").read_text())
    history = cli.read_history(out)
    assert run["env_steps"] >= 600 > history["env_steps"][-2]
    assert run["params"]["total_timesteps"] == 600 and run["params"]["n_generations"] is None
    assert run["reward_offset"] == 0.5
    assert all(f < r for f, r in zip(history["fitness_mean"], history["return_mean"]))
    assert history["eval_episodes"][-1] == 2  # the last generation is always evaluated


def test_default_budget_is_steps_or_time(monkeypatch):
    args = cli.build_parser().parse_args(["train"])
    est = cli._make_estimator(args)
    assert est.eta == SATRSearch().eta  # the library's default, no preset of the CLI's
    assert est.total_timesteps == cli.DEFAULTS["total_timesteps"]
    assert est.max_time == cli.DEFAULTS["max_time"] and est.n_generations is None
    assert est.reward_offset == "auto" and est.eval_every == "auto"
    args = cli.build_parser().parse_args(["train", "--generations", "3"])
    est = cli._make_estimator(args)
    assert est.n_generations == 3 and est.total_timesteps is None and est.max_time is None


def test_eta_budget_reaches_the_estimator():
    est = cli._make_estimator(cli.build_parser().parse_args(["train", "--eta", "budget"]))
    assert est.eta == "budget"
    est = cli._make_estimator(cli.build_parser().parse_args(["train", "--eta", "7.5"]))
    assert est.eta == 7.5


def test_budget_power_reaches_the_estimator(capsys):
    est = cli._make_estimator(cli.build_parser().parse_args(["train", "--budget-power", "0.5"]))
    assert est.budget_power == 0.5 and est.eta == "budget"
    assert cli._make_estimator(cli.build_parser().parse_args(["train"])).budget_power is None
    code = cli.main(["train", *TINY, "--eta", "7.5", "--budget-power", "0.5"])
    _assert_clean_error(code, capsys.readouterr().err, "--budget-power", "--eta budget")
    code = cli.main(["train", *TINY, "--algo", "ec", "--budget-power", "0.5"])
    _assert_clean_error(code, capsys.readouterr().err, "--budget-power", "satr")
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--budget-power", "0"])


def test_rho_eps_reaches_the_estimator(capsys):
    est = cli._make_estimator(cli.build_parser().parse_args(
        ["train", "--eta", "8", "--rho-eps", "0.005"]))
    assert est.rho_eps == 0.005 and est.eta == 8.0
    est = cli._make_estimator(cli.build_parser().parse_args(
        ["train", "--algo", "ec", "--rho-eps", "0.01"]))
    assert type(est).__name__ == "ECSearch" and est.rho_eps == 0.01
    assert cli._make_estimator(cli.build_parser().parse_args(["train"])).rho_eps == "auto"
    code = cli.main(["train", *TINY, "--algo", "es", "--rho-eps", "0.01"])
    _assert_clean_error(code, capsys.readouterr().err, "--rho-eps", "satr or ec")
    for bad in ("0", "0.5", "-0.1", "nan", "x", "0.01,0", "0.01,0.005,0.001", "0.01,"):
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args(["train", "--rho-eps", bad])
    assert "between 0 and 0.5" in capsys.readouterr().err


def test_a_falling_rho_eps_reaches_satr_only(capsys):
    est = cli._make_estimator(cli.build_parser().parse_args(
        ["train", "--eta", "8", "--rho-eps", "0.01,0.001"]))
    assert est.rho_eps == (0.01, 0.001)
    code = cli.main(["train", *TINY, "--algo", "ec", "--rho-eps", "0.01,0.001"])
    _assert_clean_error(code, capsys.readouterr().err, "--rho-eps", "satr")


def test_antithetic_flag(capsys):
    est = cli._make_estimator(cli.build_parser().parse_args(["train", "--antithetic"]))
    assert est.antithetic is True
    assert cli._make_estimator(cli.build_parser().parse_args(["train"])).antithetic is False
    code = cli.main(["train", *TINY, "--algo", "es", "--antithetic"])
    _assert_clean_error(code, capsys.readouterr().err, "--antithetic", "satr or ec")
    code = cli.main(["train", *TINY, "--antithetic", "--pop", "7"])
    _assert_clean_error(code, capsys.readouterr().err, "--pop must be even")
