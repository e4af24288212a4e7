"""A checkpoint from someone else: it never chooses where the tool writes, and its data is found by content.

Writes go where the command line or the machine's defaults say. The author's data.root is only a
hint: where it is not on this machine the error names it and the override to give; a copy of the
same files elsewhere (data.root=<copy>) is recognised by the sha256 the checkpoint stores, and its
evaluation reproduces the run's own test.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from drsn_fd.models import create_model
from drsn_fd.models.checkpoint import save_checkpoint
from drsn_fd.train.loop import run
from tests.helpers import assert_refused, cli_env, command, make_cfg, metrics

CLASSES = ["normal", "IR007", "IR014", "IR021", "B007", "B014", "B021", "OR007@6", "OR014@6", "OR021@6"]


def crafted(path, cfg: dict):
    """A checkpoint of an untrained tiny drsn_cw whose config is `cfg` (plain values only)."""
    torch.manual_seed(0)
    net = create_model("drsn_cw", len(CLASSES), units_per_stage=1).eval()
    save_checkpoint(path, {"model": "drsn_cw", "model_cfg": cfg["model"], "classes": CLASSES, "fs": 12000,
                           "window": 512, "normalize": "zscore", "config": cfg, "model_state": net.state_dict()})
    return path


def drsn(name: str, *args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([command(name), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=cli_env())


@pytest.mark.parametrize("name", ["drsn-evaluate", "drsn-inspect", "drsn-predict"])
def test_write_paths_a_checkpoint_stores_are_ignored_and_said(name, tmp_path):
    """The folders a crafted checkpoint names (simulated cache, out, a TensorBoard folder, Hydra's
    run folder) are never created; one log line names each ignored value."""
    cfg = OmegaConf.to_container(make_cfg(), resolve=True)
    chosen = {k: tmp_path / "chosen" / k for k in ("cache", "out", "tb", "hydra")}
    cfg["data"]["simulated"]["cache_dir"] = str(chosen["cache"])
    cfg["out"] = str(chosen["out"])
    cfg["logger"]["log_dir"] = str(chosen["tb"])
    cfg["hydra"] = {"run": {"dir": str(chosen["hydra"])}}
    cfg["seeds"]["order"] = str(tmp_path / "chosen" / "seeds")  # a part's seed is an integer or null, never text
    ckpt = crafted(tmp_path / "shared.pt", cfg)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal(2048).astype("float32"))
    args = {"drsn-evaluate": [f"out={tmp_path / 'eval'}"], "drsn-inspect": [f"out={tmp_path / 'inspect'}"],
            "drsn-predict": [f"input={tmp_path / 'x.npy'}", "input_fs=12000"]}[name]
    p = drsn(name, f"checkpoint={ckpt}", *args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert not (tmp_path / "chosen").exists()
    said = [ln for ln in p.stderr.splitlines() if "ignoring" in ln]
    assert len(said) == 1 and "shared.pt" in said[0] and "never chooses where drsn_fd writes" in said[0]
    for key in ("data.simulated.cache_dir=", "out=", "logger.log_dir=", "hydra=", "seeds="):
        assert key in said[0], said[0]


@pytest.mark.parametrize("name", ["drsn-evaluate", "drsn-inspect"])
def test_a_data_root_that_is_not_here_is_named_with_the_override(name, tmp_path):
    cfg = OmegaConf.to_container(make_cfg("data=cwru", "data.root=/nonexistent/their/cwru"), resolve=True)
    ckpt = crafted(tmp_path / "theirs.pt", cfg)
    p = drsn(name, f"checkpoint={ckpt}", f"out={tmp_path / 'o'}", cwd=tmp_path)
    assert_refused(p, "theirs.pt", "trained on data.root=/nonexistent/their/cwru", "give data.root=<your copy>")
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def moved_run(tmp_path_factory, cwru_root):
    """A tiny run trained on a copy of the 0 hp CWRU fault files (nine classes: the 1 hp folder has the
    same), whose folder is then moved away: the
    checkpoint's data.root no longer exists, as on the machine of someone it was shared with."""
    base = tmp_path_factory.mktemp("moved")
    theirs = base / "theirs"
    theirs.mkdir()
    for f in cwru_root.glob("*.mat"):
        shutil.copy(f, theirs / f.name)
    run(make_cfg("data=cwru", f"data.root={theirs}", "data.classes=faults", "model=drsn_cw", "trainer.epochs=1"),
        base / "run")
    mine = base / "mine"
    theirs.rename(mine)
    return base / "run", theirs, mine


@pytest.mark.cwru
def test_a_copy_of_the_training_data_elsewhere_reproduces_the_run_test(moved_run, tmp_path):
    run_dir, theirs, mine = moved_run
    ckpt = run_dir / "checkpoints" / "best.pt"
    before = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    p = drsn("drsn-evaluate", f"checkpoint={ckpt}", f"out={tmp_path / 'none'}", cwd=tmp_path)
    assert_refused(p, f"trained on data.root={theirs}", "give data.root=<your copy>")
    p = drsn("drsn-evaluate", f"checkpoint={ckpt}", f"data.root={mine}", f"out={tmp_path / 'mine'}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    got, trained = metrics(tmp_path / "mine"), metrics(run_dir)
    assert got["data"]["split_protocol"] == trained["data"]["split_protocol"]
    assert got["data"]["windows"]["test"] == trained["data"]["windows"]["test"]
    assert got["test"]["best"]["acc"] == pytest.approx(trained["test"]["best"]["acc"], abs=1e-9)
    files = got["data"]["files"]
    assert sorted(f["file"] for f in files) == sorted(r["file"].replace(str(theirs), str(mine))
                                                      for r in trained["data"]["records"])
    for f in files:  # the oracle: the file's bytes hashed here, and the catalog's published digests
        assert f["sha256"] == hashlib.sha256(open(f["file"], "rb").read()).hexdigest()
        assert f["published"] is True and f["trained_on"] is True
    assert hashlib.sha256(ckpt.read_bytes()).hexdigest() == before


@pytest.mark.cwru
def test_other_files_while_the_training_data_is_away_are_new_data(moved_run, cwru_root, tmp_path):
    """The 1 hp files share no sha256 with the training files: scored whole, no leak refusal."""
    run_dir, _, _ = moved_run
    ckpt = run_dir / "checkpoints" / "best.pt"
    p = drsn("drsn-evaluate", f"checkpoint={ckpt}", f"data.root={cwru_root / '1hp'}", "data.loads=[1]",
             f"out={tmp_path / 'one'}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    got = metrics(tmp_path / "one")
    assert got["data"]["split_protocol"].startswith("new data") and "training data unread here" in \
        got["data"]["split_protocol"]
    assert len(got["data"]["files"]) == 9 and all(f["trained_on"] is False for f in got["data"]["files"])
