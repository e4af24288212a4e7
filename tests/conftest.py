"""Shared fixtures: tiny configs, the real-data folder, a private cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

TINY = [
    "data.simulated.seconds=2",
    "data.window=512",
    "data.stride_train=256",
    "data.stride_eval=256",
    "data.split=[0.6,0.2,0.2]",
    "model.units_per_stage=1",
    "trainer.epochs=2",
    "trainer.batch_size=64",
    "eval.snrs=[-4,0]",
    "noise.snr=0",
    "device=cpu",
]


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Simulated data goes into a cache private to the test session unless CI set one."""
    if "DRSN_CACHE" not in os.environ:
        os.environ["DRSN_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.setdefault("MPLBACKEND", "Agg")


def make_cfg(*overrides: str, tiny: bool = True):
    """The composed train config with the given overrides (tiny by default)."""
    import drsn_fd.cli  # noqa: F401  (registers the resolvers)

    with initialize_config_module(config_module="drsn_fd.configs", version_base="1.3"):
        return compose(config_name="train", overrides=[*(TINY if tiny else []), *overrides])


@pytest.fixture
def cfg_factory():
    return make_cfg


@pytest.fixture(scope="session")
def cwru_root() -> Path:
    """The real CWRU folder from DRSN_CWRU_ROOT; skip with the reason when it is unset."""
    root = os.environ.get("DRSN_CWRU_ROOT")
    if not root:
        pytest.skip("DRSN_CWRU_ROOT is not set: real CWRU files are not available")
    path = Path(root)
    if not path.is_dir():
        pytest.skip(f"DRSN_CWRU_ROOT={root} is not a folder")
    return path.resolve()


def command(name: str) -> str:
    """The installed console script `name` of the Python running the tests."""
    import shutil
    import sys

    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else (shutil.which(name) or name)
