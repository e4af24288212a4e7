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


@pytest.fixture(scope="session")
def hit_root() -> Path:
    """The real HIT-SM folder from DRSN_HIT_ROOT; skip with the reason when it is unset."""
    root = os.environ.get("DRSN_HIT_ROOT")
    if not root:
        pytest.skip("DRSN_HIT_ROOT is not set: real HIT-SM files are not available")
    path = Path(root)
    if not path.is_dir():
        pytest.skip(f"DRSN_HIT_ROOT={root} is not a folder")
    return path.resolve()
