"""Cut every record into split windows: the tensors a run trains and tests on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from drsn_fd.data import domains
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
    protocol: str = "within-record (time split)"  # the split in words: data.domains.protocol_name

    def counts(self) -> dict[str, dict[str, int]]:
        """Windows per class and split."""
        return {s: {c: int((sp.y == i).sum()) for i, c in enumerate(self.classes)}
                for s, sp in self.splits.items()}


def record_roles(records: Sequence[Record], cfg: Mapping) -> list[str]:
    """Each record's part in the split: 'time' (train | val | test by time, the default), 'fit'
    (train | val | within by time: a training record of a shift protocol), 'shared' (train | val |
    test by time, its test stretch also in 'within': a normal record under data.test_sizes), or
    'train', 'val' or 'test' (the whole record: the test values of data.test_loads, test_speeds,
    test_rigs, test_sizes or test_groups, and the groups of data.val_groups). See data.domains."""
    return domains.record_roles(records, cfg)


def segments(n: int, role: str, fractions: Sequence[float], train_fraction: float = 1.0) -> dict[str, tuple[int, int]]:
    """The [start, end) samples of each split in a record of n samples with the given role.

    A 'fit' record is cut by time like a 'time' record, but its later stretch is the split
    'within': a within-record test beside the shift protocol's test on other records. A 'shared'
    record (normal under data.test_sizes) is cut like a 'time' record, and its later stretch is
    in both 'test' and 'within'.
    `train_fraction` keeps that share of the train segment, contiguous from its start.
    """
    if role in ("val", "test"):
        return {role: (0, n)}
    bounds = {"train": (0, n)} if role == "train" else split_bounds(n, tuple(fractions))
    if role == "fit":
        bounds["within"] = bounds.pop("test")
    elif role == "shared":
        bounds["within"] = bounds["test"]
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


def split_protocol(cfg: Mapping, records: Sequence[Record] | None = None) -> str:
    """The name of the split in words with its domains: `within-record (time split)`,
    `cross-load 0 -> 1 hp`, `cross-speed 600 -> 900 rpm`, `cross-rig selfbuilt -> mfs`,
    `cross-size 0.007,0.014 -> 0.021 (normal: split by time)`, `grouped a,c -> b`.
    With `records`, the training side names the values of the training records."""
    return domains.protocol_name(cfg, records)


def build_windows(cfg: Mapping) -> WindowSet:
    """Records -> resample -> split (by time, or by a domain: load, speed, rig, size, group) -> windows."""
    records = load_records(cfg)
    classes = labels_in_order(records)
    strides = {"train": cfg["stride_train"], "val": cfg["stride_eval"], "test": cfg["stride_eval"],
               "within": cfg["stride_eval"]}
    roles = record_roles(records, cfg)
    for rec, role in zip(records, roles, strict=True):
        rec.role = role
    splits = window_records(records, classes, int(cfg["window"]), cfg["split"], strides, roles,
                            float(cfg.get("train_fraction") or 1.0))
    for sp in splits.values():
        sp.x = sp.x.astype(np.float32, copy=False)
    return WindowSet(splits, classes, list(records), int(cfg["window"]), int(cfg["fs"]),
                     split_protocol(cfg, records))
