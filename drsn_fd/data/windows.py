"""Cut every record into split windows: the tensors a run trains and tests on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from drsn_fd.data.records import Record
from drsn_fd.data.sources import labels_in_order, load_records
from drsn_fd.data.split import SPLITS, make_windows, split_bounds


@dataclass
class Split:
    """Windows of one split: x (n, window) float32, y (n,) int64, and where each came from."""

    x: np.ndarray
    y: np.ndarray
    record: np.ndarray  # index into WindowSet.records
    start: np.ndarray  # first sample of the window in its record


@dataclass
class WindowSet:
    """The windows of all splits plus the class names and records they came from."""

    splits: dict[str, Split]
    classes: list[str]
    records: list[Record]
    window: int
    fs: int
    protocol: str = "within-record (time split)"  # the split: within-record, cross-load or grouped

    def counts(self) -> dict[str, dict[str, int]]:
        """Windows per class and split."""
        return {s: {c: int((sp.y == i).sum()) for i, c in enumerate(self.classes)}
                for s, sp in self.splits.items()}


def record_roles(records: Sequence[Record], cfg: Mapping) -> list[str]:
    """Each record's part in the split: 'time' (train | val | test by time, the default), 'fit'
    (train | val | within by time: a training record of a shift protocol), or 'train', 'val' or
    'test' (the whole record: groups named in data.val_groups and data.test_groups)."""
    test_loads, test_groups = cfg.get("test_loads"), cfg.get("test_groups")
    val_groups = {str(g) for g in cfg.get("val_groups") or []}
    if test_loads is not None:
        test = {int(v) for v in test_loads}
        return ["test" if r.load in test else "fit" for r in records]
    if test_groups is not None:
        test = {str(g) for g in test_groups}
        rest = "train" if val_groups else "fit"
        return ["test" if r.group in test else "val" if r.group in val_groups else rest for r in records]
    return ["time"] * len(records)


def segments(n: int, role: str, fractions: Sequence[float], train_fraction: float = 1.0) -> dict[str, tuple[int, int]]:
    """The [start, end) samples of each split in a record of n samples with the given role.

    A 'fit' record is cut by time like a 'time' record, but its later stretch is the split
    'within': a within-record test beside the shift protocol's test on other records.
    `train_fraction` keeps that share of the train segment, contiguous from its start.
    """
    if role in ("val", "test"):
        return {role: (0, n)}
    bounds = {"train": (0, n)} if role == "train" else split_bounds(n, tuple(fractions))
    if role == "fit":
        bounds["within"] = bounds.pop("test")
    a, b = bounds["train"]
    bounds["train"] = (a, a + int(np.floor((b - a) * float(train_fraction) + 1e-9)))
    return bounds


def window_records(records: Sequence[Record], classes: list[str], window: int,
                   fractions: Sequence[float], strides: Mapping[str, int], roles: Sequence[str] | None = None,
                   train_fraction: float = 1.0) -> dict[str, Split]:
    """Cut each record into its split segments (by time, or whole), then window each segment with
    its split's stride."""
    parts: dict[str, list] = {s: [] for s in SPLITS}  # and 'within' under a shift protocol
    for ri, rec in enumerate(records):
        role = roles[ri] if roles is not None else "time"
        for s, (a, b) in segments(len(rec.signal), role, fractions, train_fraction).items():
            w = make_windows(rec.signal[a:b], window, int(strides[s]),
                             name=f"{rec.file} ({s} split, samples {a}-{b} at {rec.fs} Hz)")
            starts = a + np.arange(len(w)) * int(strides[s])
            parts.setdefault(s, []).append((w, np.full(len(w), classes.index(rec.label)), np.full(len(w), ri), starts))
    return {s: Split(*(np.concatenate([p[k] for p in ps]) for k in range(4))) for s, ps in parts.items()}


def split_protocol(cfg: Mapping) -> str:
    """The name of the split in words: within-record, cross-load or grouped, with its domains."""
    if cfg.get("test_loads") is not None:
        train = "all other loads" if cfg.get("loads") is None else ",".join(str(v) for v in cfg["loads"])
        return f"cross-load {train} -> {','.join(str(v) for v in cfg['test_loads'])} hp"
    if cfg.get("test_groups") is not None:
        return f"grouped: test groups [{', '.join(str(g) for g in cfg['test_groups'])}]"
    return "within-record (time split)"


def build_windows(cfg: Mapping) -> WindowSet:
    """Records -> resample -> split (by time, or by load or group) -> windows, as the data config says."""
    records = load_records(cfg)
    classes = labels_in_order(records)
    strides = {"train": cfg["stride_train"], "val": cfg["stride_eval"], "test": cfg["stride_eval"],
               "within": cfg["stride_eval"]}
    splits = window_records(records, classes, int(cfg["window"]), cfg["split"], strides,
                            record_roles(records, cfg), float(cfg.get("train_fraction") or 1.0))
    for sp in splits.values():
        sp.x = sp.x.astype(np.float32, copy=False)
    return WindowSet(splits, classes, list(records), int(cfg["window"]), int(cfg["fs"]), split_protocol(cfg))
