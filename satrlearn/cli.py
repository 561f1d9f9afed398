"""The ``satrlearn`` command: ``train``, ``evaluate`` and ``plot``.

``satrlearn train`` fits an estimator and writes a run folder::

    runs/<env>-<algo>-<YYYYmmdd-HHMMSS>/
        policy.npz            the final deterministic network (RSNNPolicy.save)
        best_policy.npz       the deterministic network with the best logged return
        history.csv           one row per generation, the columns of ``history_``
        learning_curve.png    returns and search diagnostics (needs matplotlib)
        run.json              arguments, estimator parameters, version, returns, wall time

Every user error (unknown environment or algorithm, missing or damaged file, bad number)
ends with one line on stderr and exit code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import json
import math
import os
import platform
import re
import sys
import time
import warnings
import zipfile

__all__ = ["main", "DEFAULT_ENV", "DEFAULTS", "ALGORITHMS", "read_history", "write_history"]

#: Environment trained by ``satrlearn train`` without ``--env``.
DEFAULT_ENV = "Hopper-v5"


#: Defaults of ``satrlearn train`` and ``satrlearn evaluate``.
DEFAULTS = {
    "algo": "satr",
    "pop": 64,
    # the budget when none of --generations, --total-timesteps and --max-time is given: the
    # first reached ends the run (Hopper-v5 on 2 cores: about 2.3M steps in 270 s)
    "total_timesteps": 3_000_000,
    "max_time": 270.0,
    "n_hidden": 256,
    "episodes": 1,  # episodes per candidate during training
    "n_jobs": -1,
    "seed": 0,
    "eval_episodes": 10,  # episodes of `satrlearn evaluate`
    "final_episodes": 5,  # fresh episodes that `satrlearn train` reports at the end
}

#: ``--algo`` choices and the estimator each one builds.
ALGORITHMS = {"satr": "SATRSearch", "ec": "ECSearch", "es": "ESSearch"}

# which algorithm-specific options each estimator takes: option dest -> estimator parameter
_ALGO_OPTIONS = {
    "satr": {"eta": "eta"},
    "ec": {"learning_rate": "learning_rate", "trust_region": "trust_region"},
    "es": {"learning_rate": "learning_rate", "sigma": "sigma"},
}

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130


class UsageError(Exception):
    """A problem with what the user asked for; reported on one line, exit code 2."""


# --- argument types: argparse turns their ValueError/ArgumentTypeError into exit code 2 -------
def _number_arg(kind, ok, what):
    """An argparse type: ``kind(text)`` that must satisfy ``ok``, else "expected <what>"."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (math.isfinite(value) and ok(value)):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


_positive_int = _number_arg(int, lambda v: v >= 1, "a positive integer")
_nonnegative_int = _number_arg(int, lambda v: v >= 0, "an integer >= 0")
_n_jobs = _number_arg(int, lambda v: v != 0,
                      "a worker count (1, 2, ...) or -1 for every core; 0 workers cannot run "
                      "anything")
_positive_float = _number_arg(float, lambda v: v > 0, "a positive finite number")


def _reward_offset(text):
    """``auto`` or a finite number >= 0."""
    if text == "auto":
        return text
    return _number_arg(float, lambda v: v >= 0, "'auto' or a finite number >= 0")(text)
_nonnegative_float = _number_arg(float, lambda v: v >= 0, "a finite number >= 0")


# --- history files -----------------------------------------------------------------------
def write_history(history, path):
    """Write a ``history_`` dict of equal-length lists as CSV with a header row."""
    keys = list(history)
    rows = zip(*(history[k] for k in keys))
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(keys)
        writer.writerows(rows)
    return os.fspath(path)


def _number(text):
    """A CSV cell as int when written as one, else float (empty cells are NaN)."""
    if not text:
        return math.nan
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_history(path):
    """Read a ``history.csv`` back into a dict of lists of floats (ints where whole)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "history.csv")
    if not os.path.isfile(path):
        raise UsageError(f"no history file at {path!r}; pass a run folder written by "
                         "`satrlearn train` or its history.csv.")
    try:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise UsageError(f"{path!r} is empty; expected a header row and one row per "
                                 "generation.")
            columns = {name: [] for name in header}
            for line, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    raise UsageError(f"{path!r} line {line} has {len(row)} values, the header "
                                     f"has {len(header)}; the file is damaged.")
                for name, text in zip(header, row):
                    columns[name].append(_number(text))
    except UnicodeDecodeError:
        raise UsageError(f"{path!r} is not a text CSV file.") from None
    except ValueError as exc:
        raise UsageError(f"{path!r} holds a value that is not a number ({exc}).") from None
    return columns


# --- train -------------------------------------------------------------------------------
def _check_env(env_id):
    """Build and close ``env_id`` once, so that a bad id fails before any work or file."""
    import gymnasium as gym

    try:
        env = gym.make(env_id)
    except gym.error.Error as exc:
        raise UsageError(f"cannot make environment {env_id!r}: {exc}") from None
    except ImportError as exc:
        raise UsageError(f"environment {env_id!r} needs a package that is missing: {exc}") \
            from None
    env.close()


def _default_out(env_id, algo):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe_env = re.sub(r"[^A-Za-z0-9_.-]+", "_", env_id)
    return os.path.join("runs", f"{safe_env}-{algo}-{stamp}")


def _prepare_out(out, overwrite):
    """Create the run folder; refuse to mix two runs in one folder. Returns (path, created)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out!r} is a file; give a folder path.")
    if os.path.isfile(os.path.join(out, "run.json")) and not overwrite:
        raise UsageError(f"{out!r} already holds a run; choose another --out or pass "
                         "--overwrite.")
    created = not os.path.exists(out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the output folder {out!r}: {exc.strerror}.") from None
    return out, created


def _make_estimator(args):
    import satrlearn

    cls = getattr(satrlearn, ALGORITHMS[args.algo])
    allowed = _ALGO_OPTIONS[args.algo]
    extra = {}
    for dest in ("eta", "learning_rate", "trust_region", "sigma"):
        value = getattr(args, dest)
        if value is None:
            continue
        if dest not in allowed:
            users = [a for a, opts in _ALGO_OPTIONS.items() if dest in opts]
            flag = "--" + dest.replace("_", "-")
            raise UsageError(f"{flag} applies to --algo {' or '.join(users)}, not "
                             f"{args.algo}; drop it or change --algo.")
        extra[allowed[dest]] = value
    if args.algo == "es" and args.pop % 2:
        raise UsageError(f"--algo es samples antithetic pairs: --pop must be even, got "
                         f"{args.pop}.")
    budget = {"n_generations": args.generations, "total_timesteps": args.total_timesteps,
              "max_time": args.max_time}
    if all(v is None for v in budget.values()):
        budget.update(total_timesteps=DEFAULTS["total_timesteps"],
                      max_time=DEFAULTS["max_time"])
    return cls(pop=args.pop, **budget, reward_offset=args.reward_offset,
               offset_schedule=args.offset_schedule,
               eval_every=None if args.eval_every == 0 else args.eval_every,
               eval_episodes=args.eval_episodes, n_episodes=args.episodes,
               n_hidden=args.n_hidden, max_episode_steps=args.max_episode_steps,
               n_jobs=args.n_jobs, random_state=args.seed, verbose=0 if args.quiet else 1,
               checkpoint_every=args.checkpoint_every, **extra)


def _load_for_resume(args):
    from .checkpoint import CHECKPOINT_NAME
    from .search import load_checkpoint

    if not os.path.isfile(os.path.join(args.resume, CHECKPOINT_NAME)):
        raise UsageError(f"no checkpoint in {args.resume!r}: --resume takes a run folder "
                         f"written by satrlearn train (it holds {CHECKPOINT_NAME}).")
    try:
        est = load_checkpoint(args.resume, n_jobs=args.n_jobs,
                              verbose=0 if args.quiet else 1)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    if est._env_id is None:
        raise UsageError("the checkpointed run used an environment without an id; resume it "
                         "from Python with est.resume(env).")
    return est, est._env_id


def _describe_budget(est):
    """The budget of a fit in words, e.g. "3000000 env steps or 270 s, whichever comes first"."""
    if hasattr(est, "_budget"):  # a resumed run: what is left of the checkpointed budget
        gens, steps, seconds = est._budget["target"]
    else:
        gens, steps, seconds = est.n_generations, est.total_timesteps, est.max_time
    parts = ([f"{gens} generations"] if gens is not None else []) + \
        ([f"{steps} env steps"] if steps is not None else []) + \
        ([f"{seconds:g} s"] if seconds is not None else [])
    if not parts:
        return "100 generations"
    return parts[0] if len(parts) == 1 else " or ".join(parts) + ", whichever comes first"


def _final_report(est, env_id, n_episodes, seed):
    """Evaluate the best and the final policy on fresh episodes: the run's closing numbers."""
    from .rollout import episode_stats

    report = {}
    for name, policy in (("best_policy", est.best_policy_), ("policy", est.policy_)):
        stats = episode_stats(policy, env_id, n_episodes=n_episodes, seed=seed)
        report[name] = {"true_return_mean": float(stats["returns"].mean()),
                        "true_return_std": float(stats["returns"].std()),
                        "episode_length_mean": float(stats["lengths"].mean()),
                        "distance_mean": float(stats["distances"].mean()),
                        "episodes": int(n_episodes), "seed": int(seed)}
    return report


def _describe_policy(stats):
    """One policy's closing numbers in words: true return and, where known, the distance."""
    text = (f"true return {stats['true_return_mean']:.1f} ± {stats['true_return_std']:.1f} over "
            f"{stats['episodes']} fresh episodes")
    if not math.isnan(stats["distance_mean"]):
        text += f", {stats['distance_mean']:.2f} m travelled"
    return text


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


def _cmd_train(args):
    import numpy as np

    import satrlearn

    if args.resume:
        est, env_id = _load_for_resume(args)
        out, created = args.resume, False
        print(f"resuming {type(est).__name__} on {env_id} from generation "
              f"{est.n_generations_} ({est.env_steps_} env steps, {est.wall_time_:.0f} s) "
              f"towards {_describe_budget(est)} in {out}", flush=True)
        run_search = est.resume
    else:
        env_id = args.env
        est = _make_estimator(args)
        _check_env(env_id)
        out, created = _prepare_out(args.out or _default_out(env_id, args.algo),
                                    args.overwrite)
        est.set_params(checkpoint_dir=out)
        print(f"training {type(est).__name__} on {env_id}: population {args.pop}, "
              f"{_describe_budget(est)}, {args.n_hidden} neurons, n_jobs "
              f"{args.n_jobs}, seed {args.seed}", flush=True)
        run_search = functools.partial(est.fit, env_id)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # the interruption is reported below, with what was kept
            warnings.filterwarnings("ignore", message="fit interrupted", category=RuntimeWarning)
            run_search()
    except KeyboardInterrupt:
        # stopped outside the generation loop (while starting workers): nothing to keep
        if created and not os.listdir(out):
            os.rmdir(out)
        print("interrupted before the first generation completed; nothing was saved.",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, satrlearn.RolloutError) as exc:
        if created and not os.listdir(out):
            os.rmdir(out)
        raise UsageError(str(exc)) from None
    wall = time.perf_counter() - t0
    history = est.history_
    n_gen = est.n_generations_
    final = history["return_det"][-1] if n_gen else None
    best = float(est.best_score_) if np.isfinite(est.best_score_) else None
    # fresh episodes (seeds apart from training's) for the closing line; a run stopped before
    # its first generation has nothing worth measuring
    report = {}
    if n_gen:
        try:
            report = _final_report(est, env_id, DEFAULTS["final_episodes"], 10_000 + args.seed)
        except KeyboardInterrupt:  # a second Ctrl-C skips the measurement, not the files
            pass

    saved = []
    saved.append(("policy", est.policy_.save(os.path.join(out, "policy.npz"))))
    saved.append(("best policy", est.best_policy_.save(os.path.join(out, "best_policy.npz"))))
    saved.append(("history", write_history(history, os.path.join(out, "history.csv"))))
    plot_note = None
    if n_gen:
        try:
            from .plotting import plot_history
            saved.append(("learning curve", plot_history(
                history, os.path.join(out, "learning_curve.png"),
                title=f"{type(est).__name__} on {env_id}")))
        except ImportError as exc:
            plot_note = f"learning curve not drawn: {exc}"
    else:
        plot_note = "learning curve not drawn: no generation completed."
    params = {k: v for k, v in est.get_params().items() if k != "callbacks"}
    run = {
        "satrlearn_version": satrlearn.__version__,
        "python": platform.python_version(),
        "command": "train",
        "arguments": {k: v for k, v in vars(args).items() if k not in ("func", "command")},
        "estimator": type(est).__name__,
        "params": params,
        "network": est.network_config_.to_dict(),
        "generations": n_gen,
        "env_steps": int(est.env_steps_),
        "final_return_det": final,
        "best_score": best,
        "reward_offset": float(est.reward_offset_),
        "final_evaluation": report,
        "interrupted": bool(est.interrupted_),
        "fit_wall_time": wall,
        "search_wall_time": float(est.wall_time_),
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
        "files": {name: os.path.basename(path) for name, path in saved},
    }
    run_path = os.path.join(out, "run.json")
    with open(run_path, "w") as fh:
        json.dump(_jsonable(run), fh, indent=2)
        fh.write("\n")
    saved.append(("run description", run_path))

    for name, path in saved:
        print(f"saved {name} to {path}")
    if plot_note:
        print(plot_note)
    if est.interrupted_:
        print(f"interrupted: kept the {n_gen} completed generation(s).")
    if est.reward_offset_:
        print(f"training fitness: the true return less {est.reward_offset_:g} per step "
              f"(reward offset, {est.offset_schedule}); returns below are true returns")
    if report:
        print(f"final policy: {_describe_policy(report['policy'])}")
        print(f"after {n_gen} generations, {est.env_steps_} env steps, {wall:.1f} s: "
              f"best policy {_describe_policy(report['best_policy'])}")
    else:
        print("no generation completed: the saved policies are untrained.")
    return EXIT_INTERRUPTED if est.interrupted_ else EXIT_OK


# --- evaluate ----------------------------------------------------------------------------
def _env_from_run(policy_path):
    """The environment id recorded in run.json beside a policy file, if there is one."""
    run_path = os.path.join(os.path.dirname(os.path.abspath(policy_path)), "run.json")
    try:
        with open(run_path) as fh:
            return json.load(fh)["arguments"]["env"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cmd_evaluate(args):
    import gymnasium as gym

    from .policy import RSNNPolicy
    from .rollout import evaluate_policy

    path = args.policy
    if not os.path.exists(path):
        raise UsageError(f"no policy file at {path!r}; pass a policy.npz written by "
                         "`satrlearn train` or RSNNPolicy.save.")
    if os.path.isfile(path) and not zipfile.is_zipfile(path):
        raise UsageError(f"{path!r} is not a satrlearn policy file (not a .npz archive); pass "
                         "a policy.npz written by `satrlearn train` or RSNNPolicy.save.")
    try:
        policy = RSNNPolicy.load(path)
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    env_id = args.env or _env_from_run(path)
    if env_id is None:
        raise UsageError("which environment? pass --env ID (no run.json beside the policy "
                         "names one).")
    _check_env(env_id)
    env = env_id
    if args.video:
        import importlib.util

        if importlib.util.find_spec("moviepy") is None:
            raise UsageError('--video needs moviepy: pip install "satrlearn[video]"')
        folder = args.video
        video_prefix = os.path.splitext(os.path.basename(path))[0] or "policy"
        if (sys.platform.startswith("linux") and "MUJOCO_GL" not in os.environ
                and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
            # no display: MuJoCo's default window-based context cannot start, EGL renders
            # off-screen (MUJOCO_GL=osmesa is the software fallback)
            os.environ["MUJOCO_GL"] = "egl"
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise UsageError(f"--video {folder!r} is a file; give a folder path.")

        def env():
            base = gym.make(env_id, render_mode="rgb_array")
            return gym.wrappers.RecordVideo(base, folder, episode_trigger=lambda i: True,
                                            name_prefix=video_prefix, disable_logger=True)
    try:
        mean, returns = evaluate_policy(policy, env, n_episodes=args.episodes, seed=args.seed)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:
        if not args.video:
            raise
        # rendering depends on the machine (pygame, an OpenGL context for MuJoCo)
        raise UsageError(
            f"cannot record video of {env_id!r}: {type(exc).__name__}: {exc}. Rendering needs "
            "the environment's render extra (e.g. pygame for classic control) and, for "
            "MuJoCo on a machine without a display, MUJOCO_GL=egl or MUJOCO_GL=osmesa.") \
            from None
    print(f"{env_id}: mean return {mean:.1f} ± {returns.std():.1f} over {len(returns)} "
          f"episodes (min {returns.min():.1f}, max {returns.max():.1f})")
    if args.video:
        print(f"saved videos to {args.video}")
    return EXIT_OK


# --- plot --------------------------------------------------------------------------------
def _cmd_plot(args):
    from .plotting import plot_history

    if not os.path.exists(args.run):
        raise UsageError(f"no run folder or history file at {args.run!r}.")
    history = read_history(args.run)
    run_dir = args.run if os.path.isdir(args.run) else os.path.dirname(args.run)
    out = args.out or os.path.join(run_dir, "learning_curve.png")
    title = None
    try:
        with open(os.path.join(run_dir, "run.json")) as fh:
            run = json.load(fh)
        title = f"{run['estimator']} on {run['arguments']['env']}"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        path = plot_history(history, out, title=title)
    except (ImportError, ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {out!r}: {exc.strerror or exc}") from None
    print(f"saved learning curve to {path}")
    return EXIT_OK


# --- parser ------------------------------------------------------------------------------
def build_parser():
    """The argument parser of the ``satrlearn`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="satrlearn",
        description="Train binary recurrent spiking network policies for Gymnasium "
                    "environments with SATR, EC or ES, then evaluate and plot them.")
    parser.add_argument("--version", action="version", version=f"satrlearn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    d = DEFAULTS
    train = sub.add_parser(
        "train", help="fit a policy and save it with its history",
        description="Fit a spiking policy on a Gymnasium environment and save policy.npz, "
                    "best_policy.npz, history.csv, learning_curve.png and run.json.")
    train.add_argument("--env", default=DEFAULT_ENV,
                       help=f"Gymnasium environment id (default {DEFAULT_ENV})")
    train.add_argument("--algo", choices=sorted(ALGORITHMS), default=d["algo"],
                       help=f"search algorithm (default {d['algo']})")
    train.add_argument("--pop", type=_positive_int, default=d["pop"],
                       help=f"population size (default {d['pop']})")
    train.add_argument("--total-timesteps", type=_positive_int, default=None,
                       help="environment steps to use (the whole population's)")
    train.add_argument("--max-time", type=_positive_float, default=None, metavar="SECONDS",
                       help="seconds of search")
    train.add_argument("--generations", type=_nonnegative_int, default=None,
                       help="generations to run. The run stops at the first of "
                            "--total-timesteps, --max-time and --generations given; with none "
                            f"given, {d['total_timesteps']} env steps or {d['max_time']:g} s")
    train.add_argument("--reward-offset", type=_reward_offset, default="auto",
                       help="reward taken off every step in the training fitness only; 'auto' "
                            "(default) takes the task's survival bonus (1 on Hopper/Walker2d/"
                            "Ant, 5 on Humanoid, else 0); 0 turns it off")
    train.add_argument("--offset-schedule", choices=("constant", "linear"),
                       default="constant",
                       help="'linear' lowers the offset to 0 by the end of the budget")
    train.add_argument("--eval-every", type=_nonnegative_int, default=10,
                       help="evaluate the deterministic network every N generations and after "
                            "the last (default 10; 0 turns it off)")
    train.add_argument("--eval-episodes", type=_positive_int, default=5,
                       help="fresh episodes per evaluation (default 5)")
    train.add_argument("--n-hidden", type=_positive_int, default=d["n_hidden"],
                       help=f"spiking neurons (default {d['n_hidden']})")
    train.add_argument("--episodes", type=_positive_int, default=d["episodes"],
                       help=f"episodes per candidate (default {d['episodes']})")
    train.add_argument("--max-episode-steps", type=_positive_int, default=None,
                       help="cut episodes at this many steps (default: the env's time limit)")
    train.add_argument("--n-jobs", type=_n_jobs, default=d["n_jobs"],
                       help=f"worker processes, -1 for every core (default {d['n_jobs']})")
    train.add_argument("--seed", type=_nonnegative_int, default=d["seed"],
                       help=f"random seed (default {d['seed']})")
    train.add_argument("--eta", type=_positive_float, default=None,
                       help="SATR step size (satr only; default: SATRSearch's)")
    train.add_argument("--learning-rate", type=_positive_float, default=None,
                       help="Adam/AdamW step size (ec and es only)")
    train.add_argument("--trust-region", type=_positive_float, default=None,
                       help="KL budget per generation, turns EC into EC+TR (ec only)")
    train.add_argument("--sigma", type=_positive_float, default=None,
                       help="noise scale (es only)")
    train.add_argument("--out", default=None,
                       help="output folder (default runs/<env>-<algo>-<YYYYmmdd-HHMMSS>)")
    train.add_argument("--overwrite", action="store_true",
                       help="write into an --out folder that already holds a run")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--checkpoint-every", type=_positive_int, default=5,
                       help="write the search state to the run folder every N generations "
                            "(default 5; always at the end and on Ctrl-C)")
    train.add_argument("--resume", metavar="RUN_DIR", default=None,
                       help="continue the run checkpointed in RUN_DIR to its planned number "
                            "of generations (the other search options are taken from it)")
    train.set_defaults(func=_cmd_train)

    ev = sub.add_parser(
        "evaluate", help="run a saved policy and print its mean return",
        description="Run a saved policy for some episodes and print the mean return.")
    ev.add_argument("policy", metavar="POLICY_FILE", help="a policy.npz file")
    ev.add_argument("--env", default=None,
                    help="Gymnasium environment id (default: the one in run.json beside "
                         "the policy)")
    ev.add_argument("--episodes", type=_positive_int, default=d["eval_episodes"],
                    help=f"episodes to run (default {d['eval_episodes']})")
    ev.add_argument("--seed", type=_nonnegative_int, default=0,
                    help="seed of the episodes (default 0)")
    ev.add_argument("--video", metavar="DIR", default=None,
                    help="record every episode as an mp4 into DIR (needs satrlearn[video])")
    ev.set_defaults(func=_cmd_evaluate)

    pl = sub.add_parser(
        "plot", help="draw the learning curve of a run",
        description="Draw returns and search diagnostics from a run's history.csv.")
    pl.add_argument("run", metavar="RUN_DIR", help="a run folder (or its history.csv)")
    pl.add_argument("--out", metavar="FILE", default=None,
                    help="image file (default RUN_DIR/learning_curve.png)")
    pl.set_defaults(func=_cmd_plot)
    return parser


def main(argv=None):
    """Run ``satrlearn`` with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or an argparse usage error (code 2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"satrlearn {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
