"""Checkpoints hold weights and plain values: a file that would run code is refused unopened."""

from __future__ import annotations

import os
import subprocess

import pytest
import torch

from drsn_fd.deploy.export import export_model
from drsn_fd.errors import CheckpointError
from drsn_fd.evaluate.inspect import inspect_thresholds
from drsn_fd.models.checkpoint import load_checkpoint, load_model
from drsn_fd.train.loop import run
from tests.helpers import command


class _Payload:
    """Unpickling this object runs a shell command that creates a file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "drsn_fd/1", "model_state": {}, "payload": _Payload(marker)}, path)
    return path, marker


@pytest.mark.parametrize("opener", [load_checkpoint, load_model,
                                    lambda p: export_model(p, "torchscript", p.with_suffix(".ts")),
                                    lambda p: inspect_thresholds(p)])
def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(evil, opener):
    path, marker = evil
    with pytest.raises(CheckpointError, match="needs more than weights"):
        opener(path)
    assert not marker.exists()


def test_drsn_predict_refuses_it_in_one_line(evil, tmp_path):
    path, marker = evil
    p = subprocess.run([command("drsn-predict"), f"checkpoint={path}", f"input={tmp_path}"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "needs more than weights" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and str(path) in p.stderr
    assert not marker.exists()


def test_every_checkpoint_a_run_writes_loads_as_weights_only(tmp_path, cfg_factory):
    run(cfg_factory("trainer.epochs=1"), tmp_path)
    for name in ("best.pt", "last.pt"):
        path = tmp_path / "checkpoints" / name
        torch.load(path, weights_only=True)  # raises if anything but weights and plain values is inside
        model, ck = load_model(path)
        assert ck["model"] == "drsn_cw" and not model.training
