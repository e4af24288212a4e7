"""What every source shares: the .mat files under a folder, and a signal made a record at data.fs."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
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
    rms_in = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return Record(y, label, str(path), fs, int(fs_in), channel, **meta, rms_in=rms_in)


def selected_loads(cfg: Mapping) -> set[int] | None:
    """The loads to read: data.loads and data.test_loads (None: every load)."""
    if cfg.get("loads") is None:
        return None
    return {int(v) for v in cfg["loads"]} | {int(v) for v in cfg.get("test_loads") or []}


def selected(cfg: Mapping, train_key: str, test_key: str) -> list | None:
    """The values to read of one selection: data.<train_key> and data.<test_key> (None: every value)."""
    if cfg.get(train_key) is None:
        return None
    return list(dict.fromkeys([*cfg[train_key], *(cfg.get(test_key) or [])]))


def sha256_of(path: Path) -> str:
    """The file's sha256, computed once per file version (path, size, modification time)."""
    st = path.stat()
    return _sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        raise DataError(f"{path}: file cannot be read ({e.strerror or e})") from None
    return h.hexdigest()


def file_digests(records: Sequence[Record]) -> list[dict]:
    """What each record was read from: its file, the file's sha256, the sha256 of its signal as read at
    data.fs, its role in the split, and whether the file is the published one (None: no published sha256)."""
    out = []
    for r in records:
        sha = sha256_of(Path(r.file))
        out.append({"file": str(r.file), "sha256": sha, "signal_sha256": signal_sha256(r), "role": r.role,
                    "published": None if r.published_sha256 is None else sha == r.published_sha256})
    return out


def signal_sha256(rec: Record) -> str:
    """The sha256 of the record's samples (float32 at data.fs): the same recording written again has the same."""
    return hashlib.sha256(np.ascontiguousarray(rec.signal).tobytes()).hexdigest()
