"""Shared fixtures: tiny configs, the real-data folder, a private cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import make_cfg


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Simulated data goes into a cache private to the test session unless CI set one."""
    if "DRSN_CACHE" not in os.environ:
        os.environ["DRSN_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def cfg_factory():
    return make_cfg


def _real_folder(variable: str, what: str) -> Path:
    """The real-data folder an environment variable names; skip with the reason when it is unset."""
    root = os.environ.get(variable)
    if not root:
        pytest.skip(f"{variable} is not set: real {what} files are not available")
    path = Path(root)
    if not path.is_dir():
        pytest.skip(f"{variable}={root} is not a folder")
    return path.resolve()


@pytest.fixture(scope="session")
def cwru_root() -> Path:
    """The real CWRU folder from DRSN_CWRU_ROOT."""
    return _real_folder("DRSN_CWRU_ROOT", "CWRU")


@pytest.fixture(scope="session")
def hit_root() -> Path:
    """The real HIT-SM folder from DRSN_HIT_ROOT."""
    return _real_folder("DRSN_HIT_ROOT", "HIT-SM")
