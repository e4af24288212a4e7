"""Bad input through the real CLI: exit 2, one line naming the culprit, no traceback."""

import json

import numpy as np
import pytest

from drsn_fd.data.matfile import write_cwru_mat
from drsn_fd.data.simulated import simulate
from drsn_fd.data.windows import build_windows
from drsn_fd.errors import ConfigError, DataError
from drsn_fd.validate import check_config
from tests.helpers import assert_refused, drsn_train, make_cfg


def drsn(*args, cwd):
    return drsn_train("experiment=smoke", "device=cpu", *args, cwd=cwd, timeout=300)


@pytest.mark.parametrize("override,needles", [
    ("model=drsn_xx", ["model", "drsn_xx", "registered models"]),
    ("noise.kind=brown", ["noise.kind='brown'", "gaussian"]),
    ("data.classes=eleven", ["data.classes='eleven'", "ten"]),
    ("noise.snr=nan", ["noise.snr=nan", "finite"]),
    ("noise.snr=inf", ["noise.snr=inf", "finite"]),
    ("noise.snr=loud", ["noise.snr='loud'", "not a number"]),
    ("data.split=[0.8,0.3,0.2]", ["data.split", "fit in 1"]),
    ("data.split=[0.8,0.1,1.5]", ["data.split", "(0, 1)"]),
    ("trainer.epochs=-1", ["trainer.epochs=-1", ">= 0"]),
    ("eval.snrs=[0,loud]", ["eval.snrs", "'loud'"]),
    ("eval.kinds=[brown]", ["eval.kinds", "'brown'", "pink"]),
    ("data.channel=XY", ["data.channel='XY'", "DE, FE, BA"]),
])
def test_bad_config_values_are_refused_by_the_validator(override, needles):
    """In-process: the validator names the key and what is allowed."""
    if override.startswith("model="):  # no such config file: a name that reached the config anyway
        cfg = make_cfg(tiny=False)
        cfg.model.name = "drsn_xx"
    else:
        cfg = make_cfg(override, tiny=False)
    with pytest.raises(ConfigError) as e:
        check_config(cfg)
    for n in needles:
        assert n in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_a_window_longer_than_a_split_segment_is_named():
    with pytest.raises(DataError, match="shorter than one window.*data.window"):
        build_windows(make_cfg("data.window=100000").data)


@pytest.mark.slow
@pytest.mark.parametrize("override,needles", [
    ("model=drsn_xx", ["model", "drsn_xx"]),
    ("noise.snr=nan", ["noise.snr=nan", "finite"]),
    ("data.window=100000", ["shorter than one window", "data.window"]),
])
def test_the_cli_exit_contract_for_bad_values(tmp_path, override, needles):
    """Through the real CLI: exit 2, one line naming the culprit, no traceback."""
    assert_refused(drsn(override, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path), *needles)


@pytest.mark.slow
def test_bad_data_files_are_named(tmp_path):
    root = tmp_path / "cwru"
    simulate(root, seconds=0.5)
    raw = (root / "118.mat").read_bytes()
    (root / "118.mat").write_bytes(raw[: len(raw) // 3])
    assert_refused(drsn("data=cwru", f"data.root={root}", f"hydra.run.dir={tmp_path / 'r1'}", cwd=tmp_path),
                   "118.mat", "corrupt or truncated")
    simulate(root, seconds=0.5)
    write_cwru_mat(root / "118.mat", 118, {"FE": np.zeros(6000)}, 1797)
    assert_refused(drsn("data=cwru", f"data.root={root}", f"hydra.run.dir={tmp_path / 'r2'}", cwd=tmp_path),
                   "118.mat", "no DE channel")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_refused(drsn("data=cwru", f"data.root={empty}", f"hydra.run.dir={tmp_path / 'r3'}", cwd=tmp_path),
                   str(empty), "no .mat files")


@pytest.mark.slow
def test_failed_start_leaves_existing_results_unchanged(tmp_path):
    out = tmp_path / "run"
    ok = drsn(f"hydra.run.dir={out}", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr[-1500:]
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and not p.name.endswith(".log")}
    for bad in ("model=nope", "noise.snr=nan", "trainer.epochs=2"):
        p = drsn(bad, f"hydra.run.dir={out}", cwd=tmp_path)
        assert p.returncode == 2
    assert {p: p.read_bytes() for p in files} == files
    assert json.loads((out / "metrics.json").read_text())["status"] == "completed"
