"""What every source shares: the .mat files under a folder, and a signal made a record at data.fs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from drsn_fd.data.records import Record
from drsn_fd.data.resample import resample
from drsn_fd.errors import DataError


def mat_files(root: Path) -> list[Path]:
    if not root.exists():
        raise DataError(f"data.root={root}: folder does not exist")
    if not root.is_dir():
        raise DataError(f"data.root={root}: not a folder")
    denied: list[OSError] = []
    for _ in os.walk(root, onerror=denied.append):  # rglob skips unreadable folders silently
        pass
    if denied:
        raise DataError(f"data.root={root}: folder {denied[0].filename} cannot be read ({denied[0].strerror})")
    files = sorted(root.rglob("*.mat"))
    if not files:
        raise DataError(f"data.root={root}: no .mat files in this folder")
    return files


def to_record(x: np.ndarray, path: Path, label: str, fs_in: int, cfg: Mapping, channel: str, **meta) -> Record:
    """The record of signal `x`, taken at `fs_in`, resampled to data.fs."""
    fs = int(cfg["fs"])
    y = resample(x, int(fs_in), fs).astype("float32")
    return Record(y, label, str(path), fs, int(fs_in), channel, **meta)


def selected_loads(cfg: Mapping) -> set[int] | None:
    """The loads to read: data.loads and data.test_loads (None: every load)."""
    if cfg.get("loads") is None:
        return None
    return {int(v) for v in cfg["loads"]} | {int(v) for v in cfg.get("test_loads") or []}


