"""The ``satrlearn`` command: ``train``, ``evaluate``, ``plot`` and ``export``.

``satrlearn train`` fits an estimator and writes a run folder::

    runs/<env>-<algo>-<YYYYmmdd-HHMMSS>/
        run.json              arguments, estimator parameters, version, status, returns, wall
                              time, and every resume; written when the run starts
        history.csv           one row per generation, the columns of ``history_``, appended
                              as each generation finishes
        checkpoint.npz        the search state (every --checkpoint-every generations, at the
                              end, on Ctrl-C); ``--resume`` continues from it
        policy.npz            the final deterministic network (RSNNPolicy.save)
        best_policy.npz       the deterministic network with the best logged return
        learning_curve.png    returns and search diagnostics (needs matplotlib)

A folder that holds any of these files is never written into without ``--overwrite``, which
removes them before the new run starts. A run that completes no generation (Ctrl-C or an
error in generation 1) leaves nothing behind. Every file that is replaced is replaced
atomically (:func:`satrlearn._files.atomic_write`).

Every user error (unknown environment or algorithm, missing or damaged file, bad number)
ends with one line on stderr and exit code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import json
import math
import os
import platform
import re
import shlex
import sys
import time
import warnings
import zipfile

from ._files import atomic_write
from .callbacks import CSVLogger, write_history
from .callbacks import read_history as _read_history
from .checkpoint import CHECKPOINT_NAME

__all__ = ["ALGORITHMS", "DEFAULTS", "DEFAULT_ENV", "main", "read_history", "write_history"]

#: Environment trained by ``satrlearn train`` without ``--env``.
DEFAULT_ENV = "Hopper-v5"


#: Defaults of ``satrlearn train`` and ``satrlearn evaluate``.
DEFAULTS = {
    "algo": "satr",
    "pop": None,  # the estimator's own default (SATR 16, EC and ES 64)
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
    "satr": {"eta": "eta", "budget_power": "budget_power", "rho_eps": "rho_eps",
             "antithetic": "antithetic"},
    "ec": {"learning_rate": "learning_rate", "trust_region": "trust_region",
           "rho_eps": "rho_eps", "antithetic": "antithetic"},
    "es": {"learning_rate": "learning_rate", "sigma": "sigma"},
}

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130

#: Files of a run folder. A folder holding any of them holds a run: ``train`` writes into it
#: only with ``--overwrite`` (which removes them first) or ``--resume``.
RUN_FILES = ("run.json", "history.csv", CHECKPOINT_NAME, "policy.npz", "best_policy.npz",
             "learning_curve.png")

# what --resume takes besides the folder: options that do not change the search
_RESUME_OPTIONS = ("resume", "n_jobs", "quiet", "checkpoint_every")
# attributes of the parsed arguments that are not options of the command
_NOT_OPTIONS = ("func", "command", "given")


class UsageError(Exception):
    """A problem with what the user asked for; reported on one line, exit code 2."""


@contextlib.contextmanager
def _reported(out, kinds=(ImportError,)):
    """Turn the errors a user can act on into a :class:`UsageError`: those of ``kinds`` (a
    missing extra, a bad value) with their own message, an ``OSError`` as "cannot write
    OUT"."""
    try:
        yield
    except kinds as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {out!r}: {exc.strerror or exc}") from None


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
_one_floor = _number_arg(float, lambda v: 0 < v < 0.5, "a number between 0 and 0.5")


def _probability_floor(text):
    """``X`` or ``START,END`` (a floor that falls over the budget), each in (0, 0.5)."""
    parts = text.split(",")
    if len(parts) > 2:
        raise argparse.ArgumentTypeError(f"expected X or START,END, got {text!r}")
    values = tuple(_one_floor(part) for part in parts)
    return values[0] if len(values) == 1 else values


def _reward_offset(text):
    """``auto`` or a finite number >= 0."""
    if text == "auto":
        return text
    return _number_arg(float, lambda v: v >= 0, "'auto' or a finite number >= 0")(text)
_nonnegative_float = _number_arg(float, lambda v: v >= 0, "a finite number >= 0")


def _eval_every(text):
    """``auto`` or an integer >= 0 (0: no evaluation)."""
    if text == "auto":
        return text
    return _number_arg(int, lambda v: v >= 0, "'auto' or an integer >= 0")(text)


def _eta(text):
    """``steady``, ``budget``, ``signal`` or a positive finite number."""
    if text in ("steady", "budget", "signal"):
        return text
    return _number_arg(float, lambda v: v > 0,
                       "'steady', 'budget', 'signal' or a positive finite number")(text)


# --- history files -----------------------------------------------------------------------
def read_history(path):
    """Read a ``history.csv`` back into a dict of lists of floats (ints where whole)."""
    try:
        return _read_history(path)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None


# --- train -------------------------------------------------------------------------------
def _check_env(env_id):
    """Make ``env_id``, reset it and take one step, then close it.

    A bad id, a missing dependency or an environment that fails at once is reported before
    any work is done or any file written.
    """
    import gymnasium as gym

    from .rollout import make_env

    try:
        env = make_env(env_id)
    except gym.error.Error as exc:
        raise UsageError(f"cannot make environment {env_id!r}: {exc}") from None
    except ImportError as exc:
        raise UsageError(f"environment {env_id!r} needs a package that is missing: {exc}") \
            from None
    except Exception as exc:  # noqa: BLE001 (an env's constructor may raise anything)
        raise UsageError(f"cannot make environment {env_id!r}: {type(exc).__name__}: {exc}. "
                         "Fix the environment or choose another --env.") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the run's own environments warn where it matters
            env.reset(seed=0)
            env.step(env.action_space.sample())
    except Exception as exc:  # noqa: BLE001 (so may its reset and step)
        raise UsageError(f"environment {env_id!r} fails on its first reset or step: "
                         f"{type(exc).__name__}: {exc}. Fix the environment or choose another "
                         "--env.") from None
    finally:
        env.close()


def _default_out(env_id, algo):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe_env = re.sub(r"[^A-Za-z0-9_.-]+", "_", env_id)
    return os.path.join("runs", f"{safe_env}-{algo}-{stamp}")


def _now():
    return datetime.datetime.now().isoformat(timespec="seconds")


def _read_run(folder):
    """The ``run.json`` of a run folder as a dict, or None when it is missing or unreadable."""
    try:
        with open(os.path.join(folder, "run.json")) as fh:
            run = json.load(fh)
    except (OSError, ValueError):
        return None
    return run if isinstance(run, dict) else None


def _run_status(run):
    """``running`` (or killed), ``interrupted``, ``failed`` or ``finished``."""
    if "status" in run:
        return run["status"]
    # run.json written before the status field: only at the end of a run
    return "interrupted" if run.get("interrupted") else "finished"


def _run_env(run):
    """The environment id a run.json records, or None."""
    env = run.get("env")
    if env is None and isinstance(run.get("arguments"), dict):
        env = run["arguments"].get("env")
    return env if isinstance(env, str) else None


def _refuse_existing_run(out):
    """Raise UsageError when ``out`` holds files of a run, saying how to continue or replace it."""
    present = [name for name in RUN_FILES if os.path.isfile(os.path.join(out, name))]
    if not present:
        return
    run = _read_run(out)
    status = None if run is None else _run_status(run)
    resume = f"`satrlearn train --resume {shlex.quote(out)}`"
    if CHECKPOINT_NAME in present and status != "finished":
        why = {None: "a checkpoint without a readable run.json: it was stopped before the end",
               "running": "it was stopped before the end, or is still running",
               "interrupted": "it was interrupted",
               "failed": "it stopped on an error"}.get(status, f"status {status!r}")
        raise UsageError(f"{out!r} holds an unfinished run ({why}); continue it with {resume}, "
                         "pass --overwrite to replace it, or choose another --out.")
    if status == "finished":
        raise UsageError(f"{out!r} already holds a finished run; choose another --out or pass "
                         "--overwrite to replace it.")
    raise UsageError(f"{out!r} already holds files of a run ({', '.join(present)}); choose "
                     "another --out or pass --overwrite to replace them.")


def _prepare_out(out, overwrite, unique=False):
    """Create the run folder; refuse to mix two runs in one folder. Returns (path, created).

    With ``unique`` (the default name, made from the time) a taken name gets a ``-2``,
    ``-3``, ... suffix instead. With ``overwrite`` the files of the run already there are
    removed, so a new run stopped early leaves no mix of two runs.
    """
    if unique:
        for n in range(1, 1000):
            path = out if n == 1 else f"{out}-{n}"
            try:
                os.makedirs(path)
            except FileExistsError:
                continue
            except OSError as exc:
                raise UsageError(f"cannot create the output folder {path!r}: "
                                 f"{exc.strerror}.") from None
            return path, True
        raise UsageError(f"every folder name from {out!r} to {out!r}-999 is taken; pass --out.")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out!r} is a file; give a folder path.")
    if not overwrite:
        _refuse_existing_run(out)
    created = not os.path.exists(out)
    try:
        os.makedirs(out, exist_ok=True)
        if overwrite:
            for name in RUN_FILES:
                if os.path.isfile(os.path.join(out, name)):
                    os.unlink(os.path.join(out, name))
    except OSError as exc:
        raise UsageError(f"cannot prepare the output folder {out!r}: {exc.strerror}.") from None
    return out, created


def _discard(out, created):
    """Remove what a run that completed no generation wrote (and its folder, if it made it)."""
    for name in RUN_FILES:
        try:
            os.unlink(os.path.join(out, name))
        except FileNotFoundError:
            pass
    if created:
        try:
            os.rmdir(out)
        except OSError:  # something else was put there meanwhile: keep it
            pass


def _write_run(out, run):
    """Write ``run.json`` atomically."""
    text = json.dumps(_jsonable(run), indent=2) + "\n"
    return atomic_write(os.path.join(out, "run.json"), lambda fh: fh.write(text), mode="w")


def _options_given(argv):
    """The ``train`` options written in ``argv`` (dest -> value), without the defaults."""
    parser = argparse.ArgumentParser(add_help=False)
    _add_train_arguments(parser)
    unset = object()
    dests = vars(parser.parse_args([]))
    namespace = argparse.Namespace(**{dest: unset for dest in dests})
    given = vars(parser.parse_args(argv, namespace=namespace))
    return {dest: value for dest, value in given.items() if value is not unset}


def _make_estimator(args):
    import satrlearn

    cls = getattr(satrlearn, ALGORITHMS[args.algo])
    allowed = _ALGO_OPTIONS[args.algo]
    extra = {}
    for dest in ("eta", "budget_power", "rho_eps", "learning_rate", "trust_region", "sigma",
                 "antithetic"):
        value = getattr(args, dest)
        if value is None or value is False:
            continue
        if dest not in allowed:
            users = [a for a, opts in _ALGO_OPTIONS.items() if dest in opts]
            flag = "--" + dest.replace("_", "-")
            raise UsageError(f"{flag} applies to --algo {' or '.join(users)}, not "
                             f"{args.algo}; drop it or change --algo.")
        extra[allowed[dest]] = value
    if isinstance(getattr(args, "rho_eps", None), tuple) and args.algo != "satr":
        raise UsageError("--rho-eps START,END (a floor that falls over the budget) applies to "
                         f"--algo satr, not {args.algo}; give one number.")
    if getattr(args, "budget_power", None) is not None:
        if args.eta not in (None, "budget"):
            raise UsageError(f"--budget-power shapes the schedule of --eta budget only, not "
                             f"--eta {args.eta}; drop one of them.")
        extra["eta"] = "budget"
    pop = args.pop if args.pop is not None else cls().get_params()["pop"]
    if (args.algo == "es" or args.antithetic) and pop % 2:
        why = "--algo es samples" if args.algo == "es" else "--antithetic samples"
        raise UsageError(f"{why} antithetic pairs: --pop must be even, got {pop}.")
    budget = {"n_generations": args.generations, "total_timesteps": args.total_timesteps,
              "max_time": args.max_time}
    if all(v is None for v in budget.values()):
        budget.update(total_timesteps=DEFAULTS["total_timesteps"],
                      max_time=DEFAULTS["max_time"])
    return cls(pop=pop, **budget, reward_offset=args.reward_offset,
               offset_schedule=args.offset_schedule,
               eval_every=None if args.eval_every == 0 else args.eval_every,
               eval_episodes=args.eval_episodes, n_episodes=args.episodes,
               n_hidden=args.n_hidden, max_episode_steps=args.max_episode_steps,
               n_jobs=args.n_jobs, random_state=args.seed, verbose=0 if args.quiet else 1,
               checkpoint_every=args.checkpoint_every, **extra)


def _load_for_resume(args):
    from .search import load_checkpoint

    if not os.path.isfile(os.path.join(args.resume, CHECKPOINT_NAME)):
        if _read_run(args.resume) is not None:
            raise UsageError(
                f"no checkpoint in {args.resume!r}: the run stopped before its first checkpoint "
                f"(written every --checkpoint-every generations); start it again with "
                f"`satrlearn train ... --out {shlex.quote(args.resume)} --overwrite`.")
        raise UsageError(f"no checkpoint in {args.resume!r}: --resume takes a run folder "
                         f"written by satrlearn train (it holds {CHECKPOINT_NAME}).")
    overrides = {"n_jobs": args.n_jobs, "verbose": 0 if args.quiet else 1}
    if "checkpoint_every" in getattr(args, "given", {}):
        overrides["checkpoint_every"] = args.checkpoint_every
    try:
        est = load_checkpoint(args.resume, **overrides)
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


def _params(est):
    return {k: v for k, v in est.get_params().items() if k != "callbacks"}


def _start_record(args, est, env_id):
    """The run.json of a new run, written before its first generation."""
    import satrlearn

    return {
        "satrlearn_version": satrlearn.__version__,
        "python": platform.python_version(),
        "command": "train",
        "env": env_id,
        "arguments": {k: v for k, v in vars(args).items() if k not in _NOT_OPTIONS},
        "estimator": type(est).__name__,
        "params": _params(est),
        "status": "running",
        "started": _now(),
    }


def _record_from_checkpoint(est, env_id, out):
    """A run.json for a checkpointed run that has none (killed before it was written, or
    started from Python): the ``satrlearn train`` arguments that start the same run."""
    import satrlearn

    p = est.get_params()
    algo = next(a for a, name in ALGORITHMS.items() if name == type(est).__name__)
    arguments = {k: v for k, v in vars(build_parser().parse_args(["train"])).items()
                 if k not in _NOT_OPTIONS}
    arguments.update(
        env=env_id, algo=algo, pop=p["pop"], generations=p["n_generations"],
        total_timesteps=p["total_timesteps"], max_time=p["max_time"],
        reward_offset=p["reward_offset"], offset_schedule=p["offset_schedule"],
        eval_every=p["eval_every"] or 0, eval_episodes=p["eval_episodes"],
        n_hidden=p["n_hidden"], episodes=p["n_episodes"],
        max_episode_steps=p["max_episode_steps"], n_jobs=p["n_jobs"], seed=p["random_state"],
        checkpoint_every=p["checkpoint_every"], quiet=p["verbose"] == 0, out=out)
    arguments.update({dest: p[param] for dest, param in _ALGO_OPTIONS[algo].items()})
    return {
        "satrlearn_version": satrlearn.__version__,
        "python": platform.python_version(),
        "command": "train",
        "env": env_id,
        "arguments": arguments,
        "arguments_from": "checkpoint",
        "estimator": type(est).__name__,
        "params": _params(est),
        "status": "running",
        "started": None,
    }


def _cmd_train(args):
    if args.resume:
        return _train_resume(args)
    return _train_new(args)


def _train_new(args):
    from .search import HISTORY_KEYS

    env_id = args.env
    est = _make_estimator(args)
    _check_env(env_id)  # before anything is created
    out, created = _prepare_out(args.out or _default_out(env_id, args.algo), args.overwrite,
                                unique=args.out is None)
    history_path = os.path.join(out, "history.csv")
    est.set_params(checkpoint_dir=out, callbacks=[CSVLogger(history_path)])
    run = _start_record(args, est, env_id)
    try:
        _write_run(out, run)
        write_history({key: [] for key in HISTORY_KEYS}, history_path)
    except OSError as exc:
        _discard(out, created)
        raise UsageError(f"cannot write into {out!r}: {exc.strerror or exc}.") from None
    except KeyboardInterrupt:
        _discard(out, created)
        raise
    print(f"training {type(est).__name__} on {env_id}: population {est.pop}, "
          f"{_describe_budget(est)}, {args.n_hidden} neurons, n_jobs "
          f"{args.n_jobs}, seed {args.seed}", flush=True)
    return _run_and_save(est, functools.partial(est.fit, env_id), env_id, out, run, args,
                         created=created)


def _train_resume(args):
    given = getattr(args, "given", {})
    ignored = ["--" + dest.replace("_", "-") for dest in given if dest not in _RESUME_OPTIONS]
    if ignored:
        raise UsageError(
            f"{', '.join(ignored)} cannot be used with --resume: the run continues with the "
            f"options it was started with (its run.json lists them); drop "
            f"{'it' if len(ignored) == 1 else 'them'}, or start a new run with --out. Only "
            "--n-jobs, --quiet and --checkpoint-every apply to a resumed run.")
    out = args.resume
    est, env_id = _load_for_resume(args)
    _check_env(env_id)
    run = _read_run(out) or _record_from_checkpoint(est, env_id, out)
    run["env"] = env_id
    if not isinstance(run.get("resumes"), list):
        run["resumes"] = []
    entry = {"started": _now(), "from_generation": int(est.n_generations_),
             "options": {k: v for k, v in given.items() if k != "resume"}}
    run["resumes"].append(entry)
    run["status"] = "running"
    history_path = os.path.join(out, "history.csv")
    try:
        # the checkpoint's rows: rows a killed run appended after its last checkpoint go,
        # the generations that follow are appended again as they finish
        write_history(est.history_, history_path)
        _write_run(out, run)
    except OSError as exc:
        raise UsageError(f"cannot write into {out!r}: {exc.strerror or exc}.") from None
    est.set_params(callbacks=[CSVLogger(history_path)])  # rewrites the checkpoint's rows
    print(f"resuming {type(est).__name__} on {env_id} from generation "
          f"{est.n_generations_} ({est.env_steps_} env steps, {est.wall_time_:.0f} s) "
          f"towards {_describe_budget(est)} in {out}", flush=True)
    return _run_and_save(est, est.resume, env_id, out, run, args, entry=entry)


def _outcome(est, interrupted, wall):
    """The run.json fields that describe where the search stands."""
    import numpy as np

    n_gen = est.n_generations_
    return {
        "network": est.network_config_.to_dict(),
        "generations": n_gen,
        "env_steps": int(est.env_steps_),
        "final_return_det": est.history_["return_det"][-1] if n_gen else None,
        "best_score": float(est.best_score_) if np.isfinite(est.best_score_) else None,
        "selection": getattr(est, "selection_", None),
        "reward_offset": float(est.reward_offset_),
        "interrupted": bool(interrupted),
        "fit_wall_time": wall,
        "search_wall_time": float(est.wall_time_),
    }


def _keep_after_error(est, out, run, entry, created, start_gen, error, wall):
    """Record a search that stopped on ``error``; the message for the user, or None when the
    error is not one a user can fix (it is then raised as it is).

    With no generation finished in this command a new run leaves nothing behind and a
    resumed one keeps its files; otherwise the completed generations stay (the estimator
    checkpointed the last one) for ``--resume``.
    """
    import satrlearn

    n_gen = getattr(est, "n_generations_", 0)
    text = f"{type(error).__name__}: {error}"
    if entry is not None:
        entry.update(status="failed", to_generation=n_gen, ended=_now(), error=text)
    kept = ""
    if n_gen == start_gen and entry is None:
        _discard(out, created)
    elif n_gen == start_gen:
        run["status"] = "failed"
        _write_run(out, run)
    else:
        write_history(est.history_, os.path.join(out, "history.csv"))
        run.update(_outcome(est, False, wall), status="failed", error=text)
        _write_run(out, run)
        kept = (f" The {n_gen} completed generation(s) are kept in {out!r} ({CHECKPOINT_NAME}, "
                f"history.csv); fix the cause and continue with `satrlearn train --resume "
                f"{shlex.quote(out)}`.")
    if not isinstance(error, (ValueError, TypeError, satrlearn.RolloutError)):
        return None
    return f"{error}{kept}"


def _run_and_save(est, run_search, env_id, out, run, args, created=False, entry=None):
    """Run the search, then write the run's files. ``entry`` is the run's record of this
    resume (None for a new run, whose folder this command ``created`` or not)."""
    start_gen = getattr(est, "n_generations_", 0)
    interrupted = False
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # the interruption is reported below, with what was kept
            warnings.filterwarnings("ignore", message="fit interrupted", category=RuntimeWarning)
            run_search()
    except KeyboardInterrupt:  # outside the generation loop (making the env, starting workers)
        interrupted = True
    except Exception as exc:
        message = _keep_after_error(est, out, run, entry, created, start_gen, exc,
                                    time.perf_counter() - t0)
        if message is None:  # not the user's to fix: the traceback helps
            raise
        raise UsageError(message) from None
    wall = time.perf_counter() - t0
    interrupted = interrupted or bool(getattr(est, "interrupted_", False))
    n_gen = getattr(est, "n_generations_", 0)
    status = "interrupted" if interrupted else "finished"
    if entry is not None:
        entry.update(status=status, to_generation=n_gen, ended=_now())
    if interrupted and n_gen == start_gen:
        # no generation finished in this command: a new run leaves nothing behind, a resumed
        # one stays as it was (its checkpoint is rewritten with the same state)
        if entry is None:
            _discard(out, created)
            print("interrupted before the first generation completed; nothing was saved.",
                  file=sys.stderr)
        else:
            run["status"] = status
            _write_run(out, run)
            print(f"interrupted before a generation completed; the run in {out} is as it "
                  "was.", file=sys.stderr)
        return EXIT_INTERRUPTED

    history = est.history_
    history_path = write_history(history, os.path.join(out, "history.csv"))
    run.update(_outcome(est, interrupted, wall))

    # fresh episodes (seeds apart from training's) for the closing line; a run of 0
    # generations has nothing worth measuring
    report = {}
    if n_gen:
        try:
            seed = run.get("arguments", {}).get("seed") or 0
            report = _final_report(est, env_id, DEFAULTS["final_episodes"], 10_000 + seed)
        except KeyboardInterrupt:  # a second Ctrl-C skips the measurement, not the files
            pass

    saved = []
    saved.append(("policy", est.policy_.save(os.path.join(out, "policy.npz"))))
    saved.append(("best policy", est.best_policy_.save(os.path.join(out, "best_policy.npz"))))
    saved.append(("history", history_path))
    plot_note = None
    if n_gen:
        try:
            saved.append(("learning curve", _draw(
                history, os.path.join(out, "learning_curve.png"),
                title=f"{type(est).__name__} on {env_id}")))
        except ImportError as exc:
            plot_note = f"learning curve not drawn: {exc}"
    else:
        plot_note = "learning curve not drawn: no generation completed."
    run.update(status=status, final_evaluation=report, finished=_now(),
               files={name: os.path.basename(path) for name, path in saved})
    run.pop("error", None)
    saved.append(("run description", _write_run(out, run)))

    for name, path in saved:
        print(f"saved {name} to {path}")
    if plot_note:
        print(plot_note)
    if interrupted:
        print(f"interrupted: kept the {n_gen} completed generation(s).")
    if est.reward_offset_:
        from .shaping import SURVIVAL_FULL_SHARE

        how = {"survival": "survival: scaled down while the episodes last under "
                           f"{SURVIVAL_FULL_SHARE:g} of the time limit",
               "linear": "linear: lowered to 0 by the end"}.get(est.offset_schedule,
                                                              est.offset_schedule)
        print(f"training fitness: the true return less {est.reward_offset_:g} per step "
              f"(reward offset, {how}); returns below are true returns")
    if report:
        print(f"final policy: {_describe_policy(report['policy'])}")
        print(f"after {n_gen} generations, {est.env_steps_} env steps, {wall:.1f} s: "
              f"best policy {_describe_policy(report['best_policy'])}")
    elif not n_gen:
        print("no generation was run (--generations 0): the saved policies are untrained.")
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def _draw(history, path, title=None):
    """Draw the learning curve into ``path`` atomically; its extension picks the format."""
    import tempfile

    from .plotting import plot_history

    # drawn aside, then put in place whole: a reader or a Ctrl-C never sees half an image
    with tempfile.TemporaryDirectory(prefix="satrlearn-plot-") as scratch:
        drawn = plot_history(history, os.path.join(scratch, os.path.basename(path)),
                             title=title)
        with open(drawn, "rb") as fh:
            image = fh.read()
    return atomic_write(path, lambda fh: fh.write(image))


# --- evaluate ----------------------------------------------------------------------------
def _env_from_run(policy_path):
    """The environment id recorded in run.json beside a policy file, if there is one."""
    run = _read_run(os.path.dirname(os.path.abspath(policy_path)))
    return None if run is None else _run_env(run)


def _load_policy(path):
    """The policy in ``path``, or a UsageError saying what is wrong with the file."""
    from .policy import RSNNPolicy

    if not os.path.exists(path):
        raise UsageError(f"no policy file at {path!r}; pass a policy.npz written by "
                         "`satrlearn train` or RSNNPolicy.save.")
    if os.path.isfile(path) and not zipfile.is_zipfile(path):
        raise UsageError(f"{path!r} is not a satrlearn policy file (not a .npz archive); pass "
                         "a policy.npz written by `satrlearn train` or RSNNPolicy.save.")
    try:
        return RSNNPolicy.load(path)
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None


def _cmd_evaluate(args):
    import gymnasium as gym

    from .rollout import RolloutError, evaluate_policy, make_env

    path = args.policy
    policy = _load_policy(path)
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
            base = make_env(env_id, render_mode="rgb_array")
            return gym.wrappers.RecordVideo(base, folder, episode_trigger=lambda i: True,
                                            name_prefix=video_prefix, disable_logger=True)
    try:
        mean, returns = evaluate_policy(policy, env, n_episodes=args.episodes, seed=args.seed)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    except RolloutError as exc:  # the environment misbehaved (NaN reward, an exception)
        raise UsageError(f"evaluating on {env_id!r} failed: {exc}") from None
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
    if args.energy:
        from .energy import energy_report, format_energy

        try:
            report = energy_report(policy, env_id, n_episodes=args.episodes, seed=args.seed)
        except (ValueError, TypeError) as exc:
            raise UsageError(str(exc)) from None
        for line in format_energy(report):
            print(line)
    return EXIT_OK


# --- plot --------------------------------------------------------------------------------
def _plot_target(out, run_dir):
    """The image file ``satrlearn plot`` writes for ``--out`` (None: the run's default)."""
    if out is None:
        return os.path.join(run_dir, "learning_curve.png")
    if os.path.isdir(out) or out.endswith(("/", os.sep)):
        return os.path.join(out, "learning_curve.png")
    if not os.path.splitext(out)[1]:
        return out + ".png"  # what savefig would write: name the file that exists
    return out


def _cmd_plot(args):
    if args.raster is not None:
        return _plot_raster(args)
    if args.run is None:
        raise UsageError("which run? pass a RUN_DIR written by `satrlearn train` (or its "
                         "history.csv), or --raster POLICY_FILE for a spike raster.")
    if not os.path.exists(args.run):
        raise UsageError(f"no run folder or history file at {args.run!r}.")
    history = read_history(args.run)
    run_dir = args.run if os.path.isdir(args.run) else os.path.dirname(args.run)
    out = _plot_target(args.out, run_dir)
    run = _read_run(run_dir)
    title = None
    if run is not None and isinstance(run.get("estimator"), str) and _run_env(run):
        title = f"{run['estimator']} on {_run_env(run)}"
    with _reported(out, (ImportError, ValueError, TypeError)):
        path = _draw(history, out, title=title)
    print(f"saved learning curve to {path}")
    return EXIT_OK


def _plot_raster(args):
    """``satrlearn plot --raster POLICY``: one episode's spike raster, membranes and actions."""
    import tempfile

    from .raster import plot_raster
    from .rollout import check_spaces, make_env

    if args.run is not None:
        raise UsageError("pass either RUN_DIR (a learning curve) or --raster POLICY_FILE (a "
                         "spike raster), not both.")
    policy = _load_policy(args.raster)
    env_id = args.env or _env_from_run(args.raster)
    if env_id is None:
        raise UsageError("which environment? pass --env ID (no run.json beside the policy "
                         "names one).")
    _check_env(env_id)
    out = args.out
    if out is None:
        out = os.path.splitext(args.raster)[0] + "_raster.png"
    elif os.path.isdir(out) or out.endswith(("/", os.sep)):
        out = os.path.join(out, "raster.png")
    elif not os.path.splitext(out)[1]:
        out = out + ".png"
    env = make_env(env_id)
    try:
        with _reported(out, (ValueError, TypeError)):
            check_spaces(env, policy.config.n_in, policy.action_map)
        with _reported(out), tempfile.TemporaryDirectory(prefix="satrlearn-plot-") as scratch:
            drawn = plot_raster(policy, env, os.path.join(scratch, os.path.basename(out)),
                                seed=args.seed, max_steps=args.steps)
            with open(drawn, "rb") as fh:
                image = fh.read()
            path = atomic_write(out, lambda fh: fh.write(image))
    finally:
        env.close()
    print(f"saved spike raster to {path}")
    return EXIT_OK


# --- export ------------------------------------------------------------------------------
def _cmd_export(args):
    import tempfile

    policy = _load_policy(args.policy)
    out = args.nir
    if os.path.isdir(out):
        raise UsageError(f"--nir {out!r} is a folder; give a file path such as policy.nir.")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {out!r}: no folder {folder!r}.")
    with _reported(out, (ImportError, ValueError)):
        from .nir import write_nir

        with tempfile.TemporaryDirectory(prefix="satrlearn-nir-") as scratch:
            written = write_nir(policy, os.path.join(scratch, "graph.nir"),
                                variant=args.variant)
            with open(written, "rb") as fh:
                data = fh.read()
        path = atomic_write(out, lambda fh: fh.write(data))
    print(f"saved NIR graph ({args.variant} variant) to {path}")
    return EXIT_OK


# --- parser ------------------------------------------------------------------------------
def _add_train_arguments(parser):
    """Add the options of ``satrlearn train`` to ``parser``."""
    d = DEFAULTS
    parser.add_argument("--env", default=DEFAULT_ENV,
                        help=f"Gymnasium environment id (default {DEFAULT_ENV})")
    parser.add_argument("--algo", choices=sorted(ALGORITHMS), default=d["algo"],
                        help=f"search algorithm (default {d['algo']})")
    parser.add_argument("--pop", type=_positive_int, default=d["pop"],
                        help="population size (default: the algorithm's, SATR 16, EC and ES "
                             "64)")
    parser.add_argument("--total-timesteps", type=_positive_int, default=None,
                        help="environment steps to use (the whole population's)")
    parser.add_argument("--max-time", type=_positive_float, default=None, metavar="SECONDS",
                        help="seconds of search")
    parser.add_argument("--generations", type=_nonnegative_int, default=None,
                        help="generations to run. The run stops at the first of "
                             "--total-timesteps, --max-time and --generations given; with none "
                             f"given, {d['total_timesteps']} env steps or {d['max_time']:g} s")
    parser.add_argument("--reward-offset", type=_reward_offset, default="auto",
                        help="reward taken off every step in the training fitness only; 'auto' "
                             "(default) takes the task's survival bonus (1 on Hopper/Walker2d/"
                             "Ant, 5 on Humanoid, else 0); 0 turns it off")
    parser.add_argument("--offset-schedule", choices=("survival", "constant", "linear"),
                        default="survival",
                        help="'survival' scales the offset by the share of the time limit "
                             "the episodes last (whole from a quarter); 'constant' keeps it "
                             "whole; 'linear' lowers it to 0 by the end of the budget")
    parser.add_argument("--eval-every", type=_eval_every, default="auto",
                        help="evaluate the deterministic network every N generations and after "
                             "the last; 'auto' (default) once per 640 training episodes, "
                             "every 40 generations at population 16; 0 turns it off")
    parser.add_argument("--eval-episodes", type=_positive_int, default=5,
                        help="fresh episodes per evaluation (default 5)")
    parser.add_argument("--n-hidden", type=_positive_int, default=d["n_hidden"],
                        help=f"spiking neurons (default {d['n_hidden']})")
    parser.add_argument("--episodes", type=_positive_int, default=d["episodes"],
                        help=f"episodes per candidate (default {d['episodes']})")
    parser.add_argument("--max-episode-steps", type=_positive_int, default=None,
                        help="cut episodes at this many steps (default: the env's time limit)")
    parser.add_argument("--n-jobs", type=_n_jobs, default=d["n_jobs"],
                        help=f"worker processes, -1 for every core (default {d['n_jobs']})")
    parser.add_argument("--seed", type=_nonnegative_int, default=d["seed"],
                        help=f"random seed (default {d['seed']})")
    parser.add_argument("--eta", type=_eta, default=None,
                        help="SATR step size: 'steady' for the same log-odds step per "
                             "generation at any population, 'budget' to set it from the "
                             "population and the budget, 'signal' to spend the same budget "
                             "where the signal estimate is, or a number (satr only; default: "
                             "SATRSearch's, 'steady')")
    parser.add_argument("--budget-power", type=_positive_float, default=None,
                        help="implies --eta budget: how its schedule spreads the "
                             "distribution's settling over the budget: 1 evenly, under 1 "
                             "sooner (satr only; default: SATRSearch's, 1)")
    parser.add_argument("--rho-eps", type=_probability_floor, default=None, metavar="X",
                        help="keep every connection's probability in [X, 1 - X], a floor on "
                             "exploration (satr and ec); START,END lowers it geometrically "
                             "from START to END over the budget (satr only; default: "
                             "the estimator's: for satr 0.01,0.001 with --eta steady, else "
                             "0.001)")
    parser.add_argument("--antithetic", action="store_true",
                        help="draw candidates in pairs from the same uniforms (satr and ec)")
    parser.add_argument("--learning-rate", type=_positive_float, default=None,
                        help="Adam/AdamW step size (ec and es only)")
    parser.add_argument("--trust-region", type=_positive_float, default=None,
                        help="KL budget per generation, turns EC into EC+TR (ec only)")
    parser.add_argument("--sigma", type=_positive_float, default=None,
                        help="noise scale (es only)")
    parser.add_argument("--out", default=None,
                        help="output folder (default runs/<env>-<algo>-<YYYYmmdd-HHMMSS>); "
                             "a folder that holds a run is refused without --overwrite")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run in --out: its files are removed when the new "
                             "run starts")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--checkpoint-every", type=_positive_int, default=5,
                        help="write the search state to the run folder every N generations "
                             "(default 5; always at the end and on Ctrl-C)")
    parser.add_argument("--resume", metavar="RUN_DIR", default=None,
                        help="continue the run checkpointed in RUN_DIR to the budget it was "
                             "started with, with its options; only --n-jobs, --quiet and "
                             "--checkpoint-every may be given with it")


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
    _add_train_arguments(train)
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
    ev.add_argument("--energy", action="store_true",
                    help="also print an analytical energy estimate: the operations counted "
                         "over the same episodes times published energies per operation")
    ev.set_defaults(func=_cmd_evaluate)

    pl = sub.add_parser(
        "plot", help="draw the learning curve of a run",
        description="Draw returns and search diagnostics from a run's history.csv.")
    pl.add_argument("run", metavar="RUN_DIR", nargs="?", default=None,
                    help="a run folder (or its history.csv)")
    pl.add_argument("--out", metavar="FILE", default=None,
                    help="image file (default RUN_DIR/learning_curve.png; with --raster, "
                         "POLICY_raster.png beside the policy)")
    pl.add_argument("--raster", metavar="POLICY_FILE", default=None,
                    help="instead of a learning curve, draw one episode of this policy: the "
                         "spike raster of its hidden neurons, a few membrane potentials and "
                         "the actions")
    pl.add_argument("--env", default=None,
                    help="with --raster: Gymnasium environment id (default: the one in "
                         "run.json beside the policy)")
    pl.add_argument("--seed", type=_nonnegative_int, default=0,
                    help="with --raster: seed of the episode (default 0)")
    pl.add_argument("--steps", type=_positive_int, default=60,
                    help="with --raster: environment steps drawn (default 60; the episode "
                         "runs to its end)")
    pl.set_defaults(func=_cmd_plot)

    ex = sub.add_parser(
        "export", help="write a policy as a NIR graph for other simulators",
        description="Export a saved policy to the Neuromorphic Intermediate Representation "
                    "(NIR), an HDF5 file other spiking simulators and neuromorphic "
                    "toolchains read (needs satrlearn[nir]).")
    ex.add_argument("policy", metavar="POLICY_FILE", help="a policy.npz file")
    ex.add_argument("--nir", metavar="OUT", required=True, help="the .nir file to write")
    ex.add_argument("--variant", choices=("exact", "euler", "snntorch"), default="exact",
                    help="exact (default): the faithful graph, time constants in ms; euler: "
                         "for simulators that integrate with forward Euler and 0/1 spikes; "
                         "snntorch: for snnTorch 1.0.0's import_from_nir "
                         "(docs/neuromorphic.md)")
    ex.set_defaults(func=_cmd_export)
    return parser


def main(argv=None):
    """Run ``satrlearn`` with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else [os.fspath(a) for a in argv]
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or an argparse usage error (code 2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.command == "train":  # what was written, apart from the defaults (for --resume)
        args.given = _options_given(argv[argv.index(args.command) + 1:])
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"satrlearn {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # outside the generation loop, e.g. while the env is made
        print(f"satrlearn {args.command}: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
