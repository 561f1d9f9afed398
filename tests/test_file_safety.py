"""Loading policy files and checkpoints is safe on any bytes: ValueError or a valid object.

Covers the memory bombs (constants and member headers that would size huge arrays), members
the format does not define, invalid values (NaN, negative variances, rho outside [0, 1]),
the one atomic writer (nothing left behind, stale temporaries cleaned), and a property-based
test that mutates valid files at the byte, member and meta level.
"""

import io
import json
import os
import time
import tracemalloc
import zipfile

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satrlearn import ECSearch, ESSearch, SATRSearch, load_checkpoint
from satrlearn import checkpoint as ckpt
from satrlearn._files import STALE_SECONDS, atomic_write, read_archive
from satrlearn.network import MAX_PARAMS, MAX_SUBSTEPS, NetworkConfig
from satrlearn.normalization import Moments, ObservationNormalizer
from satrlearn.policy import RSNNPolicy

BOX = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
TINY = dict(pop=6, n_hidden=16, random_state=3)


def make_policy(binary=True, n_in=4, n_hidden=20):
    cfg = NetworkConfig(n_in=n_in, n_out=2, n_hidden=n_hidden)
    rng = np.random.default_rng(0)
    params = (rng.random(cfg.n_params) < 0.5 if binary
              else rng.standard_normal(cfg.n_params).astype(np.float32))
    norm = ObservationNormalizer(n_in)
    obs = rng.standard_normal((30, n_in))
    norm.merge(Moments(n_in, 30, obs.mean(0), ((obs - obs.mean(0)) ** 2).sum(0)))
    return RSNNPolicy(cfg, params, norm, BOX, seed=0)


def members(path):
    """The raw members of one of our own (trusted) files, meta decoded."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(bytes(arrays.pop("meta")).decode()), arrays


def rewrite(path, meta, arrays):
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    return path


def peak_bytes(fn):
    """Peak traced allocation (numpy reports its buffers to tracemalloc) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def load_or_value_error(path):
    """RSNNPolicy.load either works or raises ValueError; returns the policy or None."""
    try:
        return RSNNPolicy.load(path)
    except ValueError:
        return None


# --- 1. constants that size arrays are bounded before anything is allocated ------------------
@pytest.mark.parametrize("key, value, match", [
    ("sim_time", 1e9, "substeps"),
    ("dt", 1e-9, "substeps"),
    ("n_hidden", 10**7, "connections"),
    ("n_in", 10**9, "connections"),
    ("v_th", -1.0, "v_th must be positive"),
    ("v_reset", 5.0, "v_reset must lie below v_th"),
    ("tau_m", float("nan"), "tau_m"),
])
def test_network_constants_are_bounded_in_files(tmp_path, key, value, match):
    path = make_policy().save(tmp_path / "p.npz")
    meta, arrays = members(path)
    meta["network"][key] = value
    rewrite(path, meta, arrays)
    peak = peak_bytes(lambda: pytest.raises(ValueError, RSNNPolicy.load, path))
    with pytest.raises(ValueError, match=match):
        RSNNPolicy.load(path)
    assert peak < 5 * 2**20, peak


def test_network_config_limits_have_clear_messages():
    with pytest.raises(ValueError, match=f"between 1 and {MAX_SUBSTEPS:,} substeps"):
        NetworkConfig(n_in=3, n_out=1, sim_time=1e9)
    with pytest.raises(ValueError, match=f"at most {MAX_PARAMS:,}"):
        NetworkConfig(n_in=3, n_out=1, n_hidden=100_000)
    with pytest.raises(ValueError, match=r"v_th must be positive.*default is 1\.0"):
        SATRSearch(pop=8, n_generations=1, n_hidden=8,
                   network_params={"v_th": -1}).fit("CartPole-v1")


# --- 2. only the members the format defines, each checked before it is read ------------------
def test_extra_member_is_refused_without_reading_it(tmp_path):
    path = make_policy().save(tmp_path / "p.npz")
    meta, arrays = members(path)
    # 200 MB of zeros compress to about 200 KB: a small file that would allocate a lot
    big = str(tmp_path / "big.npz")
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, a in {"meta": np.frombuffer(json.dumps(meta).encode(), np.uint8),
                        **arrays}.items():
            buf = io.BytesIO()
            np.save(buf, a)
            zf.writestr(name + ".npy", buf.getvalue())
        with zf.open("extra.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "<f8", "fortran_order": False, "shape": (25_000_000,)})
            chunk = bytes(2**20)
            for _ in range(200):
                fh.write(chunk)
    assert os.path.getsize(big) < 2 * 2**20
    peak = peak_bytes(lambda: pytest.raises(ValueError, RSNNPolicy.load, big))
    with pytest.raises(ValueError, match="unexpected members"):
        RSNNPolicy.load(big)
    assert peak < 5 * 2**20, peak


def test_member_header_is_checked_before_its_data(tmp_path):
    """A connections member whose header claims a huge shape is refused from the header."""
    path = make_policy().save(tmp_path / "p.npz")
    meta, arrays = members(path)
    bad = str(tmp_path / "bad.npz")
    with zipfile.ZipFile(bad, "w") as zf:
        for name, a in {"meta": np.frombuffer(json.dumps(meta).encode(), np.uint8),
                        **arrays}.items():
            buf = io.BytesIO()
            if name == "connections":
                np.lib.format.write_array_header_1_0(
                    buf, {"descr": "|u1", "fortran_order": False, "shape": (2**40,)})
                buf.write(a.tobytes())
            else:
                np.save(buf, a)
            zf.writestr(name + ".npy", buf.getvalue())
    with pytest.raises(ValueError, match="shape"):
        RSNNPolicy.load(bad)


def test_missing_and_foreign_members(tmp_path):
    path = make_policy().save(tmp_path / "p.npz")
    meta, arrays = members(path)
    rewrite(tmp_path / "missing.npz", meta, {k: v for k, v in arrays.items() if k != "obs_m2"})
    with pytest.raises(ValueError, match=r"missing members \['obs_m2'\]"):
        RSNNPolicy.load(tmp_path / "missing.npz")
    rewrite(tmp_path / "object.npz", meta, dict(arrays, obs_mean=np.array([{}], dtype=object)))
    with pytest.raises(ValueError, match="satrlearn policy file"):
        RSNNPolicy.load(tmp_path / "object.npz")


# --- 3. values are validated on load ---------------------------------------------------------
@pytest.mark.parametrize("binary", [True, False], ids=["binary", "real"])
@pytest.mark.parametrize("name, change, match", [
    ("obs_m2", lambda a: a[:-1], "shape"),
    ("obs_mean", lambda a: np.full_like(a, np.nan), "NaN"),
    ("obs_m2", lambda a: -np.abs(a) - 1, "negative"),
    ("obs_clip", lambda a: -a, "clip"),
    ("obs_eps", lambda a: a * 0, "eps"),
    ("obs_count", lambda a: -a, "count"),
    ("obs_mean", lambda a: a.astype(np.float32), "float32"),
])
def test_invalid_normaliser_is_refused(tmp_path, binary, name, change, match):
    path = make_policy(binary).save(tmp_path / "p.npz")
    meta, arrays = members(path)
    arrays[name] = change(arrays[name])
    rewrite(path, meta, arrays)
    with pytest.raises(ValueError, match=match):
        RSNNPolicy.load(path)


def test_nan_es_weights_are_refused(tmp_path):
    path = make_policy(binary=False).save(tmp_path / "p.npz")
    meta, arrays = members(path)
    arrays["weights"][3] = np.nan
    rewrite(path, meta, arrays)
    with pytest.raises(ValueError, match="NaN"):
        RSNNPolicy.load(path)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """One finished checkpoint per estimator."""
    folders = {}
    for est in (SATRSearch, ECSearch, ESSearch):
        folder = tmp_path_factory.mktemp(est.__name__)
        est(**TINY, n_generations=1, checkpoint_dir=folder).fit("CartPole-v1")
        folders[est.__name__] = folder / ckpt.CHECKPOINT_NAME
    return folders


@pytest.mark.parametrize("estimator, name, change, match", [
    ("SATRSearch", "state/rho", None, r"missing members \['state/rho'\]"),
    ("SATRSearch", "state/rho", lambda a: a + 1.0, r"\[0, 1\]"),
    ("SATRSearch", "state/rho", lambda a: np.where(np.arange(a.size) == 0, np.nan, a), "NaN"),
    ("SATRSearch", "state/rho", lambda a: a[:5], "shape"),
    ("SATRSearch", "state/extra", lambda a: np.zeros(3), "unexpected members"),
    ("ECSearch", "state/v", lambda a: a - 1.0, "negative"),
    ("ECSearch", "state/t", lambda a: a.astype(np.float64), "float64"),
    ("ESSearch", "state/mu", lambda a: a * np.inf, "NaN or inf"),
    ("ESSearch", "best/params", lambda a: a.astype(np.float64), "float64"),
    ("SATRSearch", "best/obs_m2", lambda a: -a - 1, "negative"),
])
def test_invalid_checkpoints_are_refused(tmp_path, checkpoints, estimator, name, change, match):
    meta, arrays = members(checkpoints[estimator])
    if change is None:
        del arrays[name]
    else:
        arrays[name] = change(arrays.get(name, np.zeros(1)))
    rewrite(tmp_path / ckpt.CHECKPOINT_NAME, meta, arrays)
    with pytest.raises(ValueError, match=match) as info:
        load_checkpoint(tmp_path)
    assert "inconsistent satrlearn checkpoint" in str(info.value)


def test_checkpoint_meta_that_lies_is_refused(tmp_path, checkpoints):
    meta, arrays = members(checkpoints["SATRSearch"])
    for change in ({"estimator": "Nope"}, {"params": {"bogus": 1}}, {"params": [1, 2]},
                   {"network": dict(meta["network"], n_hidden=10**6)}):
        rewrite(tmp_path / ckpt.CHECKPOINT_NAME, dict(meta, **change), arrays)
        with pytest.raises(ValueError, match="satrlearn checkpoint"):
            load_checkpoint(tmp_path)


# --- 4. one atomic writer ------------------------------------------------------------------
def test_failed_policy_save_keeps_the_old_file_and_leaves_nothing(tmp_path, monkeypatch):
    policy = make_policy()
    path = policy.save(tmp_path / "p.npz")
    before = open(path, "rb").read()

    def disk_full(fh, **arrays):
        fh.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    with pytest.raises(OSError, match="No space"):
        policy.save(path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["p.npz"]


def test_stale_temporaries_are_cleaned_and_ignored(tmp_path):
    target = tmp_path / "p.npz"
    stale = tmp_path / ".p.npz.abc123.tmp"
    stale.write_bytes(b"killed half-way")
    old = time.time() - 2 * STALE_SECONDS
    os.utime(stale, (old, old))
    fresh = tmp_path / ".p.npz.zzz999.tmp"   # maybe a write still under way: kept
    fresh.write_bytes(b"x")
    make_policy().save(target)
    assert sorted(os.listdir(tmp_path)) == [".p.npz.zzz999.tmp", "p.npz"]
    RSNNPolicy.load(target)
    atomic_write(tmp_path / "notes.txt", lambda fh: fh.write("hello"), mode="w")
    assert (tmp_path / "notes.txt").read_text() == "hello"


def test_reader_refuses_archives_with_many_members(tmp_path):
    path = tmp_path / "many.npz"
    np.savez(path, meta=np.frombuffer(b"{}", np.uint8),
             **{f"a{i}": np.zeros(1) for i in range(100)})
    with pytest.raises(ValueError, match="members"):
        read_archive(path, lambda meta: {})


# --- property-based: mutated files load as a valid policy or raise ValueError -----------------
VALID = {}


def valid_files(tmp_dir):
    if not VALID:
        for binary in (True, False):
            path = make_policy(binary).save(os.path.join(tmp_dir, f"valid_{binary}.npz"))
            VALID[binary] = (open(path, "rb").read(), members(path))
    return VALID


def check_loaded(policy):
    """A policy that loaded must act: finite actions inside the action space."""
    obs = np.linspace(-2, 2, policy.observation_size * 3).reshape(3, -1)
    actions = policy.run_sequence(obs, seed=0)
    assert np.all(np.isfinite(actions))
    assert all(policy.action_space.contains(a) for a in actions)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=10)

META_KEYS = ["format", "version", "binary", "n_params", "observation_shape", "action_space",
             "network", "network.n_in", "network.n_hidden", "network.n_out", "network.sim_time",
             "network.dt", "network.v_th", "network.tau_m", "network.excitatory_ratio",
             "action_space.shape", "action_space.low", "action_space.type"]

MEMBERS = ["connections", "weights", "obs_count", "obs_mean", "obs_m2", "obs_clip", "obs_eps",
           "extra"]

arrays_st = st.one_of(
    st.just(None),  # drop the member
    st.builds(lambda n, v: np.full(n, v), st.integers(0, 300),
              st.floats(allow_nan=True, allow_infinity=True)),
    st.builds(lambda n: np.zeros(n, np.uint8), st.integers(0, 300)),
    st.builds(lambda n: np.zeros((n, 2), np.float32), st.integers(0, 50)),
)

mutation = st.one_of(
    st.tuples(st.just("bytes"), st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)),
                                         min_size=1, max_size=4)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6)),
    st.tuples(st.just("meta"), st.sampled_from(META_KEYS), json_values),
    st.tuples(st.just("member"), st.sampled_from(MEMBERS), arrays_st),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(binary=st.booleans(), change=mutation)
def test_mutated_policy_files_load_or_raise_value_error(tmp_path, binary, change):
    data, (meta, arrays) = valid_files(str(tmp_path))[binary]
    path = str(tmp_path / "mutated.npz")
    kind = change[0]
    if kind == "bytes":
        raw = bytearray(data)
        for pos, x in change[1]:
            raw[pos % len(raw)] ^= x
        open(path, "wb").write(bytes(raw))
    elif kind == "truncate":
        open(path, "wb").write(data[:change[1] % len(data)])
    elif kind == "meta":
        new = json.loads(json.dumps(meta))
        *parents, key = change[1].split(".")
        target = new
        for p in parents:
            target = target[p]
        target[key] = change[2]
        try:
            text = json.dumps(new)
        except (ValueError, TypeError):
            return
        np.savez(path, meta=np.frombuffer(text.encode(), np.uint8), **arrays)
    else:
        new = dict(arrays)
        if change[2] is None:
            new.pop(change[1], None)
        else:
            new[change[1]] = change[2]
        rewrite(path, meta, new)
    holder = {}
    peak = peak_bytes(lambda: holder.update(policy=load_or_value_error(path)))
    assert peak < 20 * 2**20, (change, peak)
    if holder["policy"] is not None:
        check_loaded(holder["policy"])
