"""Helpers the test modules share: tiny configs, the installed commands, the refusal contract."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_module

TINY = [  # any data source: the first 20 % of each record (of 10 s on the simulated set)
    "data.window=512",
    "data.stride_train=256",
    "data.stride_eval=256",
    "data.split=[0.12,0.04,0.04]",
    "model.units_per_stage=1",
    "trainer.epochs=2",
    "trainer.batch_size=64",
    "eval.snrs=[-4,0]",
    "noise.snr=0",
    "device=cpu",
    "trainer.threads=1",  # a fixed thread count: the same numbers whatever else the machine runs
]


def make_cfg(*overrides: str, tiny: bool = True):
    """The composed train config with the given overrides (tiny by default)."""
    with initialize_config_module(config_module="drsn_fd.configs", version_base="1.3"):
        return compose(config_name="train", overrides=[*(TINY if tiny else []), *overrides])


def command(name: str) -> str:
    """The installed console script `name` of the Python running the tests."""
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else (shutil.which(name) or name)


def cli_env() -> dict:
    return {**os.environ, "MPLBACKEND": "Agg", "HYDRA_FULL_ERROR": ""}


def drsn_train(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the installed drsn-train with `args` in `cwd`."""
    return subprocess.run([command("drsn-train"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=cli_env())


def metrics(folder: Path) -> dict:
    return json.loads((Path(folder) / "metrics.json").read_text())


def assert_refused(p: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, one line on stderr naming the culprit, no traceback."""
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    err = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(err) == 1, p.stderr
    assert "Traceback" not in p.stderr
    for n in needles:
        assert n in err[0], err[0]
    return err[0]


def bn_input_stats(model, x) -> list:
    """Each BatchNorm layer's input mean and unbiased variance per channel over windows x, read by
    forward hooks in an eval-mode pass: the oracle of re-estimated statistics."""
    import torch

    from drsn_fd.models.batchnorm import batchnorm_layers

    seen: list = []

    def hook(m, inputs, out):
        z = inputs[0].transpose(0, 1).reshape(inputs[0].shape[1], -1).double()  # (channels, windows * time)
        seen.append((z.mean(1), z.var(1, unbiased=True)))

    handles = [m.register_forward_hook(hook) for m in batchnorm_layers(model)]
    with torch.no_grad():
        model.eval()(x)
    for handle in handles:
        handle.remove()
    return seen
