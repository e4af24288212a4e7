"""Split a record by time into train | val | test segments, then cut windows.

Splitting happens before windowing, so no sample of a record is in two splits.
"""

from __future__ import annotations

import numpy as np

from drsn_fd.errors import DataError

SPLITS = ("train", "val", "test")


def split_bounds(n: int, fractions: tuple[float, float, float]) -> dict[str, tuple[int, int]]:
    """Contiguous, disjoint [start, end) sample ranges of each split, in time order."""
    edges = np.floor(np.cumsum([0.0, *fractions]) * n + 1e-9).astype(int)
    edges[-1] = min(edges[-1], n)
    return {s: (int(edges[i]), int(edges[i + 1])) for i, s in enumerate(SPLITS)}


def window_starts(length: int, window: int, stride: int) -> np.ndarray:
    """Start indices of the windows that fit wholly inside a segment of `length` samples."""
    if length < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, length - window + 1, stride, dtype=np.int64)


def make_windows(segment: np.ndarray, window: int, stride: int, name: str = "segment") -> np.ndarray:
    """(n, window) windows of a segment; an error naming `name` if none fits."""
    starts = window_starts(len(segment), window, stride)
    if starts.size == 0:
        raise DataError(f"{name}: {len(segment)} samples, shorter than one window of {window}; "
                        "use a shorter data.window or other data.split fractions")
    view = np.lib.stride_tricks.sliding_window_view(segment, window)
    return np.ascontiguousarray(view[starts])
