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


# ---- a checkpoint of plain values that names something to call: refused by every command, nothing runs

def _write_text_call(marker) -> dict:
    """What Hydra's instantiate would turn into `Path(marker).write_text('text')`."""
    return {"_target_": "pathlib.Path.write_text", "_args_": [{"_target_": "pathlib.Path", "_args_": [str(marker)]},
                                                               "text"]}


CRAFTS = {
    "nested": lambda model, marker: {**model, "width": _write_text_call(marker)},
    "top-level": lambda model, marker: {**model, **_write_text_call(marker)},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.helpers import make_cfg

    folder = tmp_path_factory.mktemp("run")
    run(make_cfg("trainer.epochs=1"), folder)
    return folder


def _crafted(trained, tmp_path, how: str):
    """A copy of the run folder whose best.pt and last.pt carry the crafted model config, and the marker."""
    import shutil

    folder, marker = tmp_path / "run", tmp_path / "x" / "pwned"
    shutil.copytree(trained, folder)
    for name in ("best.pt", "last.pt"):
        path = folder / "checkpoints" / name
        ck = torch.load(path, weights_only=True)
        ck["model_cfg"] = CRAFTS[how](ck["model_cfg"], marker)
        ck["config"]["model"] = CRAFTS[how](ck["config"]["model"], marker)
        torch.save(ck, path)
    return folder, marker


def _commands(folder, tmp_path):
    import numpy as np

    from tests.helpers import TINY

    best, signal = folder / "checkpoints" / "best.pt", tmp_path / "signal.npy"
    np.save(signal, np.random.default_rng(0).standard_normal(4096).astype("float32"))
    return {
        "drsn-predict": [f"checkpoint={best}", f"input={signal}", "input_fs=12000"],
        "drsn-export": [f"checkpoint={best}", "format=torchscript", f"out={tmp_path / 'm.ts'}"],
        "drsn-inspect": [f"checkpoint={best}", f"out={tmp_path / 'inspect'}"],
        "drsn-evaluate": [f"checkpoint={best}", f"out={tmp_path / 'evaluate'}"],
        "drsn-train": ["trainer.resume=true", f"hydra.run.dir={folder}", *TINY, "trainer.epochs=1"],
    }


@pytest.mark.slow
@pytest.mark.parametrize("how", sorted(CRAFTS))
@pytest.mark.parametrize("cmd", ["drsn-predict", "drsn-export", "drsn-inspect", "drsn-evaluate", "drsn-train"])
def test_a_crafted_model_config_is_refused_by_every_command_and_writes_nothing(trained, tmp_path, how, cmd):
    from tests.helpers import assert_refused, cli_env

    folder, marker = _crafted(trained, tmp_path, how)
    if cmd == "drsn-train":  # an unfinished run to resume
        import json

        m = json.loads((folder / "metrics.json").read_text())
        (folder / "metrics.json").write_text(json.dumps({**m, "status": "interrupted"}))
    p = subprocess.run([command(cmd), *_commands(folder, tmp_path)[cmd]], capture_output=True, text=True,
                       timeout=300, env=cli_env(), cwd=tmp_path)
    line = assert_refused(p, "checkpoints/", "last.pt" if cmd == "drsn-train" else "best.pt")
    assert ("width" in line) if how == "nested" else ("_target_" in line), line
    assert not marker.exists() and not marker.parent.exists()


def test_a_checkpoint_config_with_an_interpolation_is_refused(trained, tmp_path):
    path = tmp_path / "best.pt"
    ck = torch.load(trained / "checkpoints" / "best.pt", weights_only=True)
    ck["config"]["data"]["root"] = "${oc.env:HOME}"
    torch.save(ck, path)
    with pytest.raises(CheckpointError, match=r"config\.data\.root holds an interpolation"):
        load_checkpoint(path)
