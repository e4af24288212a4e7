"""Reliability (issue 6): kill and resume, corrupt checkpoints, failed sweep jobs, bad data,
properties of windows, splits and noise, determinism, and the cluster launchers.

The CLI tests run the installed `drsn-train` as a real subprocess on tiny configs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from drsn_fd.data.noise import add_noise, derived_seed, generator, realised_snr_db
from drsn_fd.data.records import Record
from drsn_fd.data.simulated import simulate
from drsn_fd.data.split import split_bounds
from drsn_fd.data.windows import window_records
from drsn_fd.errors import DataError
from drsn_fd.io import torch_save, write_json, write_text
from drsn_fd.models.checkpoint import load_checkpoint
from drsn_fd.train.device import set_deterministic
from drsn_fd.train.loop import run
from tests.helpers import assert_refused, cli_env, command, drsn_train, make_cfg, metrics

# Tiny, but with enough steps per epoch (batch 16) that a signal lands mid-training.
CLI = ["experiment=smoke", "device=cpu", "trainer.epochs=5", "trainer.batch_size=16", "trainer.threads=1",
       "eval.snrs=[-4,0]"]


def start_train(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([command("drsn-train"), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env())


def wait_for_epoch(proc: subprocess.Popen, last: Path, epoch: int, timeout: float = 300) -> None:
    """Wait until `last` holds a checkpoint at `epoch` or later (the file is replaced atomically)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, f"the run ended before it was stopped: {proc.communicate()[1][-2000:]}"
        try:
            if last.exists() and load_checkpoint(last)["epoch"] >= epoch:
                return
        except Exception:  # a file being replaced: try again
            pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"no checkpoint at epoch {epoch} after {timeout}s")


def snapshot(folder: Path) -> dict:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".log")}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    """The CLI run never stopped: the reference for resume and determinism."""
    tmp = tmp_path_factory.mktemp("ref")
    p = drsn_train(*CLI, f"hydra.run.dir={tmp / 'run'}", cwd=tmp)
    assert p.returncode == 0, p.stderr[-2000:]
    return metrics(tmp / "run")


# ---------------------------------------------------------------- interruption and resume

@pytest.mark.slow
def test_sigterm_then_sigkill_then_resume_equals_uninterrupted(tmp_path, uninterrupted):
    out = tmp_path / "run"
    last = out / "checkpoints" / "last.pt"
    args = [*CLI, f"hydra.run.dir={out}"]

    # SIGTERM: the run stops at the next step, last.pt holds the last finished epoch, status
    # interrupted, exit 128 + 15.
    proc = start_train(*args, cwd=tmp_path)
    wait_for_epoch(proc, last, 1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "Traceback" not in err and "interrupted by SIGTERM" in err and "trainer.resume=true" in err
    m = metrics(out)
    assert m["status"] == "interrupted" and "SIGTERM" in m["error"]
    ck = load_checkpoint(last)
    assert ck["epoch"] >= 1 and "step" not in ck
    assert len(ck["history"]) == ck["epoch"] == len(m["history"])

    # Resume, then SIGKILL once it has saved one more epoch: nothing is written on the way out.
    proc = start_train(*args, "trainer.resume=true", cwd=tmp_path)
    wait_for_epoch(proc, last, ck["epoch"] + 1)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert metrics(out)["status"] == "running"  # it died mid-run; the file is still whole JSON
    assert load_checkpoint(last)["epoch"] < 5

    # The same command with trainer.resume=true finishes with the metrics of a run never stopped.
    p = drsn_train(*args, "trainer.resume=true", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "resuming from" in p.stdout + p.stderr
    m = metrics(out)
    assert m["status"] == "completed" and "error" not in m
    assert m["test"] == uninterrupted["test"]
    assert m["robustness"] == uninterrupted["robustness"]
    assert [h["val_loss"] for h in m["history"]] == [h["val_loss"] for h in uninterrupted["history"]]


@pytest.mark.slow
def test_sigint_mid_epoch_stops_at_the_next_step_and_the_resume_equals_uninterrupted(tmp_path, uninterrupted,
                                                                                      monkeypatch):
    """In this process, SIGINT raised during the 10th step of epoch 2: the run stops after that step,
    last.pt holds epoch 1, and the resumed run ends exactly like the CLI run never stopped."""
    from drsn_fd.train.signals import Interrupted

    backward, calls = torch.Tensor.backward, {"n": 0}

    def backward_then_signal(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 35 + 10:  # 550 training windows in batches of 16: 35 steps an epoch
            signal.raise_signal(signal.SIGINT)
        return backward(self, *args, **kwargs)

    out, threads, handler = tmp_path / "run", torch.get_num_threads(), signal.getsignal(signal.SIGINT)
    try:
        monkeypatch.setattr(torch.Tensor, "backward", backward_then_signal)
        with pytest.raises(Interrupted, match="SIGINT"):
            run(make_cfg(*CLI, tiny=False), out)
        monkeypatch.undo()
        assert calls["n"] == 35 + 10  # no step after the signal
        ck = load_checkpoint(out / "checkpoints" / "last.pt")
        assert ck["epoch"] == 1 and len(ck["history"]) == 1
        assert metrics(out)["status"] == "interrupted" and len(metrics(out)["history"]) == 1
        m = run(make_cfg(*CLI, "trainer.resume=true", tiny=False), out)
    finally:
        torch.set_num_threads(threads)  # CLI sets trainer.threads=1
    assert signal.getsignal(signal.SIGINT) is handler  # handlers given back (ignored in a background job)
    assert m["status"] == "completed"
    assert m["test"] == uninterrupted["test"] and m["robustness"] == uninterrupted["robustness"]
    assert [h["train_loss"] for h in m["history"]] == [h["train_loss"] for h in uninterrupted["history"]]


@pytest.mark.slow
def test_truncated_last_pt_is_refused_on_resume(tmp_path):
    out = tmp_path / "run"
    last = out / "checkpoints" / "last.pt"
    torch_save(last, {"format": "drsn_fd/1", "model_state": {"w": torch.randn(4000)}, "epoch": 1})
    raw = last.read_bytes()
    last.write_bytes(raw[: len(raw) // 2])
    write_json(out / "metrics.json", {"status": "interrupted", "error": "interrupted by SIGTERM"})
    files = snapshot(out)
    p = drsn_train(*CLI, f"hydra.run.dir={out}", "trainer.resume=true", cwd=tmp_path)
    assert_refused(p, str(last), "corrupt or truncated")
    # refused before anything in the folder was touched: never trained over, the record kept as it was
    assert snapshot(out) == files
    assert not (out / "checkpoints" / "best.pt").exists()


def interrupted_copy(reference: dict, dest: Path) -> Path:
    """A copy of the reference run folder, marked as stopped after its last epoch: resumable."""
    shutil.copytree(Path(reference["run_dir"]), dest)
    write_json(dest / "metrics.json", {**metrics(dest), "status": "interrupted", "error": "interrupted by SIGTERM"})
    return dest


@pytest.mark.slow
def test_a_foreign_or_incomplete_last_pt_is_refused_on_resume(tmp_path, uninterrupted):
    out = interrupted_copy(uninterrupted, tmp_path / "run")
    last = out / "checkpoints" / "last.pt"
    files = snapshot(out)
    # another config than the one that saved last.pt: never silently mixed into one run
    p = drsn_train(*CLI, "model=resnet", f"hydra.run.dir={out}", "trainer.resume=true", cwd=tmp_path)
    assert_refused(p, str(last), "another config", "model.name='resnet'")
    assert snapshot(out) == files
    # weights without training state (best.pt copied over last.pt): named, not a KeyError traceback
    shutil.copyfile(out / "checkpoints" / "best.pt", last)
    files = snapshot(out)
    p = drsn_train(*CLI, f"hydra.run.dir={out}", "trainer.resume=true", cwd=tmp_path)
    assert_refused(p, str(last), "not a resumable checkpoint", "optimizer")
    assert snapshot(out) == files


# ---------------------------------------------------------------- failure isolation

@pytest.mark.slow
def test_multirun_with_one_failing_job_goes_on_and_the_report_lists_it(tmp_path):
    # data.root=good passes the up-front checks and trains; data.root=empty passes them too
    # but fails inside its job (no .mat files).
    simulate(tmp_path / "good", seconds=2.5)
    (tmp_path / "empty").mkdir()
    sweep = tmp_path / "sweep"
    p = drsn_train("-m", "experiment=smoke", "device=cpu", "data=cwru", "data.root=good,empty",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    jobs = {m.parent.parent.name: m.parent for m in sweep.rglob("metrics.json")}
    assert len(jobs) == 2, jobs
    good = next(d for name, d in jobs.items() if "data.root=good" in name)
    bad = next(d for name, d in jobs.items() if "data.root=empty" in name)
    ok = metrics(good)
    assert ok["status"] == "completed" and 0 <= ok["test"]["best"]["acc"] <= 1 and ok["robustness"]
    failed = metrics(bad)
    assert failed["status"] == "failed"
    assert "empty" in failed["error"] and "no .mat files" in failed["error"]
    assert "job failed" in p.stdout + p.stderr
    # the end-of-sweep report (a Hydra callback) ran and lists the failed job
    results = (sweep / "results.md").read_text()
    assert "## Failed or unfinished runs" in results and bad.parent.name in results

    # drsn-report, run again by hand, lists it too, in its printed summary.
    r = subprocess.run([command("drsn-report"), str(sweep)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600, env=cli_env())
    assert r.returncode == 0, r.stderr[-2000:]
    assert bad.parent.name in r.stdout and "failed" in r.stdout


# ---------------------------------------------------------------- bad input through the CLI

@pytest.fixture(scope="module")
def interrupted_run(uninterrupted, tmp_path_factory) -> Path:
    return interrupted_copy(uninterrupted, tmp_path_factory.mktemp("interrupted") / "run")


# One case per config check of issue 6 (tests/test_bad_input.py runs them in fresh folders).
@pytest.mark.slow
@pytest.mark.parametrize("override,culprit", [
    ("model=drsn_xx", "model='drsn_xx'"),
    ("noise.kind=brown", "noise.kind='brown'"),
    ("data.classes=eleven", "data.classes='eleven'"),
    ("noise.snr=nan", "noise.snr=nan"),
    ("noise.snr=loud", "noise.snr='loud'"),
    ("data.window=100000", "data.window=100000"),
    ("data.split=[0.8,0.1,1.5]", "data.split=[0.8, 0.1, 1.5]"),
    ("trainer.epochs=-1", "trainer.epochs=-1"),
    ("eval.snrs=5", "eval.snrs=5"),
])
def test_bad_config_on_resume_leaves_the_interrupted_run_unchanged(tmp_path, interrupted_run, override, culprit):
    """A resume with a bad value is refused before it touches the unfinished run it would continue."""
    files = snapshot(interrupted_run)
    p = drsn_train(*CLI, override, "trainer.resume=true", f"hydra.run.dir={interrupted_run}", cwd=tmp_path)
    assert_refused(p, culprit)
    assert snapshot(interrupted_run) == files


def _data_cli(root: Path, out: Path) -> list[str]:
    return ["experiment=smoke", "device=cpu", "data=cwru", f"data.root={root}", f"hydra.run.dir={out}"]


@pytest.mark.slow
def test_corrupt_mat_is_named_and_an_existing_run_is_left_alone(tmp_path):
    root = tmp_path / "cwru"
    simulate(root, seconds=2.5)
    out = tmp_path / "run"
    # An interrupted run of this command in the folder: a data error on resume must not touch its
    # checkpoints or its history.
    ref = run(make_cfg(*_data_cli(root, out)[:-1], tiny=False), out)
    write_json(out / "metrics.json", {**ref, "status": "interrupted", "error": "interrupted by SIGTERM"})
    (root / "118.mat").write_bytes(b"MATLAB 5.0 MAT-file" + os.urandom(3000))
    ckpts = snapshot(out / "checkpoints")
    p = drsn_train(*_data_cli(root, out), "trainer.resume=true", cwd=tmp_path)
    assert_refused(p, "118.mat", "corrupt or truncated")
    assert snapshot(out / "checkpoints") == ckpts
    m = metrics(out)  # the refused resume is recorded, and the run's history is kept
    assert m["status"] == "failed" and "118.mat" in m["error"] and m["history"] == ref["history"]


@pytest.mark.slow
def test_data_error_leaves_a_completed_run_unchanged(tmp_path):
    out = tmp_path / "run"
    p = drsn_train("experiment=smoke", "device=cpu", f"hydra.run.dir={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    files = snapshot(out)
    empty = tmp_path / "empty"
    empty.mkdir()
    p = drsn_train(*_data_cli(empty, out), cwd=tmp_path)
    assert_refused(p, str(out), "completed run")
    assert snapshot(out) == files


def _as_nobody(cmd: str) -> list[str] | str:
    """A command prefix that drops root, so that file permissions apply; or why that is impossible.

    As root the command must run as `nobody`: from a clone in a private (0700) folder it cannot.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return "running as root without setpriv: permissions cannot be tested"
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    try:
        ok = subprocess.run([*prefix, cmd, "--version"], cwd="/", capture_output=True, timeout=120,
                            env=cli_env()).returncode == 0
    except OSError:
        ok = False
    return prefix if ok else (f"user nobody cannot run {cmd} (a private folder above it?): "
                              "permissions cannot be tested")


def test_as_nobody_says_why_it_cannot_drop_root(tmp_path, monkeypatch):
    script = tmp_path / "private" / "drsn-train"
    script.parent.mkdir(mode=0o700)
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    if os.geteuid() == 0 and shutil.which("setpriv"):
        assert "nobody cannot run" in _as_nobody(str(script))
        assert isinstance(_as_nobody("/bin/true"), list)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert "without setpriv" in _as_nobody(str(script))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert _as_nobody(str(script)) == []


@pytest.mark.slow
@pytest.mark.parametrize("where", ["root", "subfolder", "file"])
def test_unreadable_folder_or_file_is_named(where):
    prefix = _as_nobody(command("drsn-train"))
    if isinstance(prefix, str):
        pytest.skip(prefix)
    base = Path(tempfile.mkdtemp(prefix="drsn-unreadable-"))  # outside root's private tmp folders
    try:
        base.chmod(0o777)
        root = base / "cwru"
        simulate(root / "sub", seconds=2.5)
        for d in (root, root / "sub"):
            d.chmod(0o755)
        locked = {"root": root, "subfolder": root / "sub", "file": root / "sub" / "118.mat"}[where]
        locked.chmod(0o000)
        env = {**cli_env(), "MPLCONFIGDIR": str(base / "mpl"), "HOME": str(base)}
        p = subprocess.run([*prefix, command("drsn-train"), *_data_cli(root, base / "run")], cwd=base,
                           capture_output=True, text=True, timeout=300, env=env)
        assert_refused(p, str(locked), "cannot be read", *([] if where == "file" else [f"data.root={root}"]))
    finally:
        for d in (base / "cwru", base / "cwru" / "sub", base / "cwru" / "sub" / "118.mat"):
            if d.exists():
                d.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- properties (hypothesis)

@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 100_000), a=st.floats(0.0, 1.0), b=st.floats(0.0, 1.0), c=st.floats(0.0, 1.0))
def test_split_bounds_are_ordered_contiguous_and_proportional(n, a, b, c):
    total = a + b + c
    if total > 1:
        a, b, c = a / total, b / total, c / total
    bounds = split_bounds(n, (a, b, c))
    (t0, t1), (v0, v1), (s0, s1) = bounds["train"], bounds["val"], bounds["test"]
    assert t0 == 0 and t1 == v0 and v1 == s0 and s1 <= n
    assert t0 <= t1 <= v1 <= s1
    for (lo, hi), f in zip((bounds["train"], bounds["val"], bounds["test"]), (a, b, c), strict=True):
        assert abs((hi - lo) - f * n) <= 1.0 + 1e-6 * n


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1500, 20_000), min_size=1, max_size=4),
    window=st.integers(8, 256),
    strides=st.tuples(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300)),
    fracs=st.tuples(st.floats(0.3, 0.7), st.floats(0.1, 0.3)),
)
def test_window_records_content_and_segments(lengths, window, strides, fracs):
    f = (fracs[0], fracs[1], 1.0 - fracs[0] - fracs[1])
    recs = [Record(np.arange(n, dtype=np.float64).astype(np.float32) + 1_000_000 * i, f"c{i % 2}", f"r{i}.mat",
                   12000, 12000, "DE") for i, n in enumerate(lengths)]
    classes = sorted({r.label for r in recs})
    stride = dict(zip(("train", "val", "test"), strides, strict=True))
    try:
        splits = window_records(recs, classes, window, f, stride)
    except DataError as e:  # a segment shorter than one window is named, never skipped
        assert "shorter than one window" in str(e) and ".mat" in str(e)
        return
    for name, sp in splits.items():
        assert sp.x.shape[1:] == (window,)
        np.testing.assert_array_equal(sp.x[:, 0], sp.record * 1_000_000 + sp.start)
        np.testing.assert_array_equal(sp.x[:, -1] - sp.x[:, 0], np.full(len(sp.x), window - 1, np.float32))
        for r in np.unique(sp.record):
            lo, hi = split_bounds(lengths[r], f)[name]
            starts = sp.start[sp.record == r]
            assert starts.min() >= lo and starts.max() + window <= hi
            assert len(starts) == (hi - lo - window) // stride[name] + 1
            assert set(sp.y[sp.record == r]) == {classes.index(recs[r].label)}


@settings(max_examples=60, deadline=None)
@given(
    batch=st.integers(1, 6),
    length=st.integers(16, 3000),
    snr=st.floats(-20.0, 20.0, allow_nan=False),
    kind=st.sampled_from(["gaussian", "laplacian", "pink"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_noise_hits_the_snr_for_any_length_and_level(batch, length, snr, kind, seed):
    g = torch.Generator().manual_seed(seed)
    clean = torch.randn(batch, 1, length, generator=g) * (torch.rand(batch, 1, 1, generator=g) * 10 + 0.01)
    noisy = add_noise(clean, snr, kind, generator(seed))
    assert noisy.shape == clean.shape and torch.isfinite(noisy).all()
    assert torch.all((realised_snr_db(clean, noisy) - snr).abs() < 0.01)
    again = add_noise(clean, snr, kind, generator(seed))
    assert torch.equal(noisy, again)


@settings(max_examples=40, deadline=None)
@given(
    batch=st.integers(1, 8),
    length=st.integers(16, 2000),
    lo=st.floats(-20.0, 20.0),
    width=st.floats(0.0, 20.0),
    scale=st.floats(1e-3, 1e3),
    kind=st.sampled_from(["gaussian", "laplacian", "pink"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_one_snr_per_window_is_exact_and_the_noise_scales_with_the_signal(batch, length, lo, width, scale, kind,
                                                                           seed):
    """The mixed protocol draws one SNR per window; the noise follows the signal's level, not its units."""
    g = torch.Generator().manual_seed(seed)
    clean = torch.randn(batch, 1, length, generator=g)
    snr = torch.empty(batch, 1, 1).uniform_(lo, lo + width, generator=g)
    noise = add_noise(clean, snr, kind, generator(seed)) - clean
    assert torch.all((realised_snr_db(clean, clean + noise) - snr[..., 0]).abs() < 0.01)
    scaled = add_noise(clean * scale, snr, kind, generator(seed)) - clean * scale
    torch.testing.assert_close(scaled, noise * scale, rtol=1e-4, atol=1e-6 * scale)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), snr=st.one_of(st.integers(-20, 20), st.floats(-20, 20, allow_nan=False)),
       kind=st.sampled_from(["gaussian", "laplacian", "pink"]))
def test_test_noise_seed_is_split_specific(seed, snr, kind):
    assert derived_seed(seed, "test", kind, snr) != derived_seed(seed, "val", kind, snr)


def test_test_noise_seed_is_the_same_on_every_machine_and_version():
    """Pinned values: a change of the seed derivation would change every published test set."""
    assert derived_seed(0, "test", "gaussian", -4) == 8979753681113005575
    assert derived_seed(3, "val", "pink", 2.5) == 197248988460076547


# ---------------------------------------------------------------- determinism

@pytest.mark.slow
def test_two_cpu_runs_give_identical_metrics_and_curves(tmp_path, uninterrupted):
    """The same command and seed in a second process: the same test metrics and robustness curve."""
    out = tmp_path / "run"
    p = drsn_train(*CLI, f"hydra.run.dir={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    m = metrics(out)
    assert m["test"] == uninterrupted["test"]
    assert m["robustness"] == uninterrupted["robustness"]
    for key in ("train_loss", "val_loss", "val_acc"):
        assert [h[key] for h in m["history"]] == [h[key] for h in uninterrupted["history"]], key


@pytest.mark.slow
def test_deterministic_switch_is_applied_released_and_changes_no_cpu_number(tmp_path, uninterrupted):
    """trainer.deterministic=true trains on CPU (every op used has a deterministic kernel), in this
    process, and gives exactly the numbers of the default mode run by the CLI."""
    threads = torch.get_num_threads()
    try:
        m = run(make_cfg(*CLI, "trainer.deterministic=true", tiny=False), tmp_path / "run")
        assert m["status"] == "completed"
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] in (":4096:8", ":16:8")
    finally:
        set_deterministic(False)
        torch.set_num_threads(threads)  # CLI sets trainer.threads=1
    assert not torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.deterministic
    assert m["test"] == uninterrupted["test"]
    assert m["robustness"] == uninterrupted["robustness"]


# ---------------------------------------------------------------- atomic writes

class _FailsMidway:
    """Stands for a write that dies halfway (a full disk) while torch.save is pickling."""

    def __reduce__(self):
        raise OSError("No space left on device")


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "checkpoints" / "last.pt"
    torch_save(path, {"epoch": 1})
    before = path.read_bytes()
    with pytest.raises(OSError, match="No space left"):
        torch_save(path, {"w": torch.randn(10_000), "epoch": 2, "then": _FailsMidway()})
    assert path.read_bytes() == before and torch.load(path, weights_only=False)["epoch"] == 1
    write_text(tmp_path / "report.md", "old")
    with pytest.raises(UnicodeEncodeError):
        write_text(tmp_path / "report.md", "half \ud800 written")
    assert (tmp_path / "report.md").read_text() == "old"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["checkpoints", "last.pt", "report.md"]


# ---------------------------------------------------------------- cluster launchers

@pytest.mark.slow
def test_submitit_local_runs_a_two_job_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    sweep = tmp_path / "sweep"
    p = drsn_train("-m", "launcher=submitit_local", "experiment=smoke", "device=cpu", "model=convnet,resnet",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    done = {m.parent.parent.name: json.loads(m.read_text())["status"] for m in sweep.rglob("metrics.json")}
    # the launcher is not part of a job's folder name: the same sweep lands in the same folders anywhere
    assert done == {"experiment=smoke,model=convnet": "completed", "experiment=smoke,model=resnet": "completed"}
    assert (sweep / ".submitit").is_dir()


def _submitit_task(sweep: Path, marker: str) -> int:
    """The pid of the submitit_local task whose log holds `marker` (a task is its controller's child;
    the controller's pid names its folder in .submitit)."""
    for folder in (sweep / ".submitit").iterdir():
        if folder.name.isdigit() and any(marker in f.read_text(errors="replace") for f in folder.glob("*_log.*")):
            children = Path(f"/proc/{folder.name}/task/{folder.name}/children").read_text().split()
            assert len(children) == 1, children
            return int(children[0])
    raise AssertionError(f"no submitit task logged {marker!r}")


@pytest.mark.slow
def test_submitit_job_stopped_by_the_cluster_is_interrupted_and_the_sweep_goes_on(tmp_path):
    """SIGUSR2 is what submitit has SLURM send before a job's time limit: the job saves last.pt and ends
    as interrupted, the other job completes, and the end-of-sweep report lists the stopped one."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs /proc to find the submitit task")
    sweep = tmp_path / "sweep"
    proc = start_train("-m", "launcher=submitit_local", "experiment=smoke", "device=cpu", "trainer.batch_size=16",
                       "trainer.epochs=1,500", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    short = sweep / "experiment=smoke,trainer.batch_size=16,trainer.epochs=1" / "seed=0"
    long = sweep / "experiment=smoke,trainer.batch_size=16,trainer.epochs=500" / "seed=0"
    end = time.monotonic() + 300
    while not ((short / "metrics.json").exists() and metrics(short)["status"] == "completed"):
        assert proc.poll() is None and time.monotonic() < end, proc.communicate()[1][-3000:]
        time.sleep(0.1)
    wait_for_epoch(proc, long / "checkpoints" / "last.pt", 1)
    os.kill(_submitit_task(sweep, "/500 "), signal.SIGUSR2)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    m = metrics(long)
    assert m["status"] == "interrupted" and "SIGUSR2" in m["error"]
    ck = load_checkpoint(long / "checkpoints" / "last.pt")
    assert 1 <= ck["epoch"] < 500 and len(ck["history"]) == ck["epoch"]
    assert metrics(short)["status"] == "completed"
    results = (sweep / "results.md").read_text()
    assert "## Failed or unfinished runs" in results and long.parent.name in results
    assert long.parent.name in out + err  # the report's printed summary


def test_slurm_launcher_composes_with_the_submitit_parameters(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    # Hydra takes --cfg or -m, not both; the launcher a multirun would use is composed either way.
    p = drsn_train("launcher=slurm", "sweep=paper", "hydra.launcher.partition=gpu",
                   "hydra.launcher.array_parallelism=8", "--cfg", "hydra", cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    hydra_cfg = yaml.safe_load(p.stdout)["hydra"]
    launcher = hydra_cfg["launcher"]
    assert launcher["_target_"] == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert launcher["partition"] == "gpu"
    assert launcher["gpus_per_node"] == 1
    assert launcher["cpus_per_task"] == 4
    assert launcher["mem_gb"] == 16
    assert launcher["timeout_min"] == 120
    assert launcher["array_parallelism"] == 8
    assert launcher["tasks_per_node"] == 1 and launcher["nodes"] == 1
    assert hydra_cfg["sweeper"]["params"]["model"] == "convnet,resnet,drsn_cs,drsn_cw"
    assert not list(tmp_path.iterdir()), "--cfg hydra must not create run folders"
    # trainer.threads follows the CPUs of a job
    p = drsn_train("launcher=slurm", "hydra.launcher.cpus_per_task=6", "--cfg", "job", "--resolve", cwd=tmp_path,
                   timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert yaml.safe_load(p.stdout)["trainer"]["threads"] == 6


@pytest.mark.slow
def test_slurm_launcher_writes_the_sbatch_array_it_would_submit(tmp_path):
    """A real `drsn-train -m launcher=slurm` up to sbatch: a stand-in sbatch keeps the script and refuses."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    bin_dir, script = tmp_path / "bin", tmp_path / "submitted.sh"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")  # submitit only checks that srun exists
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\ncp "$1" {shlex.quote(str(script))}\n'
                                    'echo "sbatch: error: no cluster here" >&2\nexit 1\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    sweep = tmp_path / "sweep"
    p = subprocess.run([command("drsn-train"), "-m", "launcher=slurm", "experiment=smoke", "model=convnet,resnet",
                        "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=30",
                        "hydra.launcher.array_parallelism=1", f"hydra.sweep.dir={sweep}"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300,
                       env={**cli_env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert p.returncode != 0 and "no cluster here" in p.stdout + p.stderr, p.stderr[-3000:]
    text = script.read_text()
    flags = {ln for ln in text.splitlines() if ln.startswith("#SBATCH")}
    assert {"#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=1", "#SBATCH --cpus-per-task=4",
            "#SBATCH --mem=16GB", "#SBATCH --time=30", "#SBATCH --nodes=1", "#SBATCH --ntasks-per-node=1",
            "#SBATCH --array=0-1%1",  # two jobs, at most array_parallelism at once
            "#SBATCH --signal=USR2@120",  # the stop signal drsn-train handles, 2 minutes before the limit
            "#SBATCH --job-name=drsn-train"} <= flags, sorted(flags)
    assert "srun" in text and "-m submitit.core._submit" in text
    assert not list(sweep.rglob("metrics.json")), "nothing runs before SLURM starts it"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-x", "-q"]))
