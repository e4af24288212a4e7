"""Re-entering a sweep folder (`trainer.resume=true`, the same `hydra.sweep.dir`) skips every finished run
untouched and continues every unfinished one from its last.pt; through the real CLI."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import torch

from drsn_fd.models.checkpoint import load_checkpoint
from drsn_fd.train.loop import run
from tests.helpers import drsn_train, make_cfg, metrics
from tests.test_reliability import start_train, wait_for_epoch

# Two jobs, convnet then resnet; batch 16 gives enough steps an epoch that a signal lands mid-run.
# The sweep folder is relative, as in the documented command (hydra.sweep.dir=multirun/NAME).
COMMON = ["experiment=smoke", "device=cpu", "trainer.epochs=4", "trainer.batch_size=16", "trainer.threads=1"]
SWEEP = ["-m", *COMMON, "model=convnet,resnet", "hydra.sweep.dir=sweep"]


def _job(sweep: Path, model: str, timeout: float = 300) -> Path:
    """The run folder of `model`'s job, once the sweep has made it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = [p for p in sweep.glob("*/seed=0") if f"model={model}" in p.parent.name]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no run folder for model={model} under {sweep}")


def _files(folder: Path) -> dict:
    """Every file of a run folder but Hydra's log: its bytes and modification time."""
    return {p.relative_to(folder): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() and p.suffix != ".log"}


def _timeless(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


@pytest.mark.slow
def test_reentering_a_sweep_skips_the_finished_run_and_continues_the_interrupted_one(tmp_path):
    sweep = tmp_path / "sweep"
    proc = start_train(*SWEEP, cwd=tmp_path)
    resnet = _job(sweep, "resnet")
    wait_for_epoch(proc, resnet / "checkpoints" / "last.pt", 1)
    proc.send_signal(signal.SIGTERM)  # the sweep stops in its second job
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    convnet = _job(sweep, "convnet")
    assert metrics(convnet)["status"] == "completed"
    stopped = metrics(resnet)
    assert stopped["status"] == "interrupted"
    done = len(stopped["history"])
    assert 1 <= done < 4 and load_checkpoint(resnet / "checkpoints" / "last.pt")["epoch"] == done
    finished = _files(convnet)

    p = drsn_train(*SWEEP, "trainer.resume=true", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    log = p.stdout + p.stderr
    assert "already holds a completed run" in log and f"after epoch {done}" in log
    assert _files(convnet) == finished  # metrics.json, checkpoints, tb/: not a byte or a timestamp changed
    m = metrics(resnet)
    assert m["status"] == "completed" and [h["epoch"] for h in m["history"]] == [1, 2, 3, 4]
    assert m["history"][:done] == stopped["history"]  # it continued from where it stopped
    assert sorted(str(d.relative_to(sweep)) for d in sweep.glob("*/seed=0")) == sorted(
        str(d.relative_to(sweep)) for d in (convnet, resnet))  # no new folder

    # the condition: the experiment and the overrides that name the folder (not trainer.resume or device)
    for folder, model in ((convnet, "convnet"), (resnet, "resnet")):
        assert metrics(folder)["condition"] == {"experiment": "smoke", "overrides": {
            "experiment": "smoke", "trainer.epochs": "4", "trainer.batch_size": "16", "model": model}}

    # and it ends as the same job never stopped would have
    threads = torch.get_num_threads()
    try:
        ref = run(make_cfg(*COMMON, "model=resnet", tiny=False), tmp_path / "ref")
    finally:
        torch.set_num_threads(threads)
    assert _timeless(m["history"]) == _timeless(ref["history"])
    assert m["test"] == ref["test"] and m["robustness"] == ref["robustness"]
