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

    def counts(self) -> dict[str, dict[str, int]]:
        """Windows per class and split."""
        return {s: {c: int((sp.y == i).sum()) for i, c in enumerate(self.classes)}
                for s, sp in self.splits.items()}


def window_records(records: Sequence[Record], classes: list[str], window: int,
                   fractions: Sequence[float], strides: Mapping[str, int]) -> dict[str, Split]:
    """Split each record by time, then window each segment with its split's stride."""
    parts: dict[str, list] = {s: [] for s in SPLITS}
    for ri, rec in enumerate(records):
        for s, (a, b) in split_bounds(len(rec.signal), tuple(fractions)).items():
            w = make_windows(rec.signal[a:b], window, int(strides[s]),
                             name=f"{rec.file} ({s} split, samples {a}-{b} at {rec.fs} Hz)")
            starts = a + np.arange(len(w)) * int(strides[s])
            parts[s].append((w, np.full(len(w), classes.index(rec.label)), np.full(len(w), ri), starts))
    return {s: Split(*(np.concatenate([p[k] for p in ps]) for k in range(4))) for s, ps in parts.items()}


def build_windows(cfg: Mapping) -> WindowSet:
    """Records -> resample -> split by time -> windows, as the data config says."""
    records = load_records(cfg)
    classes = labels_in_order(records)
    strides = {"train": cfg["stride_train"], "val": cfg["stride_eval"], "test": cfg["stride_eval"]}
    splits = window_records(records, classes, int(cfg["window"]), cfg["split"], strides)
    for sp in splits.values():
        sp.x = sp.x.astype(np.float32, copy=False)
    return WindowSet(splits, classes, list(records), int(cfg["window"]), int(cfg["fs"]))
