"""Split by time, then window: no sample in two splits, windows inside their segment."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drsn_fd.data.records import Record
from drsn_fd.data.split import make_windows, split_bounds, window_starts
from drsn_fd.data.windows import window_records
from drsn_fd.errors import DataError


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(3000, 200_000),
    f_train=st.floats(0.1, 0.8),
    f_val=st.floats(0.05, 0.45),
    window=st.integers(16, 1024),
    strides=st.tuples(st.integers(1, 700), st.integers(1, 700)),
)
def test_no_sample_index_is_in_two_splits(n, f_train, f_val, window, strides):
    f_test = max(0.05, min(0.9, 1 - f_train - f_val) * 0.9)
    if f_train + f_val + f_test > 1:
        return
    bounds = split_bounds(n, (f_train, f_val, f_test))
    used = np.zeros(n, dtype=np.int8)
    for name, (a, b) in bounds.items():
        assert 0 <= a <= b <= n
        stride = strides[0] if name == "train" else strides[1]
        for s in window_starts(b - a, window, stride):
            assert a + s + window <= b, "a window reaches across its segment boundary"
        covered = np.zeros(n, dtype=bool)
        for s in window_starts(b - a, window, stride):
            covered[a + s:a + s + window] = True
        used += covered
    assert used.max() <= 1


@settings(max_examples=50, deadline=None)
@given(length=st.integers(1, 5000), window=st.integers(1, 600), stride=st.integers(1, 600))
def test_window_count_and_content(length, window, stride):
    x = np.arange(length, dtype=np.float32)
    if length < window:
        with pytest.raises(DataError, match="shorter than one window"):
            make_windows(x, window, stride, "rec.mat")
        return
    w = make_windows(x, window, stride)
    assert w.shape == ((length - window) // stride + 1, window)
    assert np.array_equal(w[:, 0], np.arange(0, length - window + 1, stride))


def test_windows_of_records_keep_their_origin():
    recs = [Record(np.arange(10_000, dtype=np.float32) + 100_000 * i, lab, f"r{i}.mat", 12000, 12000, "DE")
            for i, lab in enumerate(["a", "b"])]
    splits = window_records(recs, ["a", "b"], 256, (0.6, 0.2, 0.2), {"train": 64, "val": 256, "test": 256})
    seen = {}
    for name, sp in splits.items():
        assert sp.x.shape[1] == 256
        # each window is the record's samples from its start: value = record offset + index
        np.testing.assert_array_equal(sp.x[:, 0], sp.record * 100_000 + sp.start)
        for r, s in zip(sp.record, sp.start, strict=True):
            seen.setdefault(int(r), []).append((name, int(s)))
    for items in seen.values():
        idx = {n: set() for n in ("train", "val", "test")}
        for name, s in items:
            idx[name].update(range(s, s + 256))
        assert not (idx["train"] & idx["val"]) and not (idx["train"] & idx["test"]) and not (idx["val"] & idx["test"])


def test_short_record_names_the_file():
    recs = [Record(np.zeros(1000, np.float32), "a", "short_105.mat", 12000, 12000, "DE")]
    with pytest.raises(DataError, match=r"short_105\.mat \(val split"):
        window_records(recs, ["a"], 512, (0.7, 0.15, 0.15), {"train": 64, "val": 64, "test": 64})
