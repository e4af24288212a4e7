"""Which windows drsn-evaluate scores: the run's own split, other stretches of its files, or new data whole.

A file the evaluation reads is one the checkpoint trained on (a *training file*) when

- its resolved path is that of a training file, or
- it has a training file's size in bytes and sha256 (the sha256 is computed only where the sizes match), or
- its signal, as read at data.fs, is sample for sample a training record's (a copy written again:
  the simulated set generated once more with the same seed differs from it only in the file header).

The training files are those of the checkpoint's records that it trained or validated on (every
role but 'test'), read again with the checkpoint's own data config. Then:

- **no file shared: new data.** Every record the data selection reads is scored whole: every window
  from the record's first sample on, at the hop data.stride_eval. The data.test_* keys split
  nothing there. The split is named `new data: <data.name> <folder> (whole records)`.
- **a file shared:** the data config's own split (`build_windows`): with no data override the run's
  own test split, else the test windows of the selection, refused where one overlaps samples the
  checkpoint trained or validated on (`refuse_leaks`).

When the training data cannot be read here (another machine), a file counts as shared when it lies
under the training data.root (or the training manifest's folder); the split name says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from drsn_fd.data.records import Record
from drsn_fd.data.sources import input_key, labels_in_order, load_records, source_reader
from drsn_fd.data.sources.files import file_digests, sha256_of, signal_sha256
from drsn_fd.data.split import make_windows
from drsn_fd.data.windows import Split, WindowSet, build_windows, record_roles, segments
from drsn_fd.errors import DataError, DrsnError
from drsn_fd.evaluate.checkpoint_config import fill_data

log = logging.getLogger(__name__)
NEW_DATA = "new data"  # how the split of new data starts: `new data: CWRU /data/1hp (whole records)`


class LeakError(DataError):
    """Test windows overlap samples the checkpoint was trained or validated on."""


def _resolved(path: object) -> str:
    return str(Path(str(path)).expanduser().resolve())


def _size(path: str) -> int | None:
    try:
        return Path(path).stat().st_size
    except OSError:
        return None


def trained_digests(stored: Sequence[dict]) -> tuple[set[str], set[str]]:
    """The sha256 of the files, and of the signals, a checkpoint trained or validated on (every role but
    'test'), from its stored data_files."""
    seen = [d for d in stored if d["role"] != "test"]
    return {d["sha256"] for d in seen}, {d["signal_sha256"] for d in seen}


class TrainingFiles:
    """The records a checkpoint trained or validated on, and the samples of each it saw.

    `unread` is why they could not be read here ('' when they were); then only `places` (the
    training folders) are known.
    """

    def __init__(self, data: DictConfig, stored: Sequence[dict] | None = None):
        self.seen: list[tuple[Record, list[tuple[int, int]]]] = []
        self.unread, self.places, self.digests = "", [], list(stored or [])
        self._trained = trained_digests(self.digests)
        self.records: list[Record] = []
        try:
            records = self.records = load_records(data)
        except DrsnError as e:
            self.unread = str(e)
            self.places = [_resolved(data[k]) if k == "root" else str(Path(_resolved(data[k])).parent)
                           for k in ("root", "manifest") if data.get(k)]
            return
        fractions, share = list(data.split), float(data.get("train_fraction") or 1.0)
        for rec, role in zip(records, record_roles(records, data), strict=True):
            rec.role = role
            if role != "test":  # a test record of the training run was never trained on
                cuts = segments(len(rec.signal), role, fractions, share)
                self.seen.append((rec, [v for s, v in cuts.items() if s not in ("test", "within")]))
        self._paths = {_resolved(r.file): i for i, (r, _) in enumerate(self.seen)}
        self._sizes: dict[int, list[int]] = {}
        for i, (r, _) in enumerate(self.seen):
            if (size := _size(r.file)) is not None:
                self._sizes.setdefault(size, []).append(i)
        self._signals: dict[str, list[int]] | None = None

    def shares(self, rec: Record) -> bool:
        """Whether `rec` is read from a training file (by the rule above). Unread here: by the sha256 of
        its file or signal against those the checkpoint stored, else by lying in a training folder."""
        if self.unread and self.digests:
            files, signals = self._trained
            return sha256_of(Path(rec.file)) in files or signal_sha256(rec) in signals
        if self.unread:
            path = _resolved(rec.file)
            return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.places)
        return bool(self._matches(rec))

    def same_as(self, stored: Sequence[dict], trained_only: bool = False) -> bool:
        """Whether the records read here are the stored ones, file for file and role for role (with
        `trained_only`, those it trained or validated on: every role but 'test')."""
        def keep(items):
            return sorted((d["sha256"], d["role"]) for d in items if not trained_only or d["role"] != "test")

        return not self.unread and keep(file_digests(self.records)) == keep(stored)

    def _matches(self, rec: Record) -> list[int]:
        """The training records that `rec` is the file or the signal of."""
        path = _resolved(rec.file)
        found = {self._paths[path]} if path in self._paths else set()
        size = _size(path)
        if size is not None and (same := self._sizes.get(size)):
            sha = sha256_of(Path(path))
            found |= {i for i in same if sha256_of(Path(self.seen[i][0].file)) == sha}
        if self._signals is None:
            self._signals = {}
            for i, (r, _) in enumerate(self.seen):
                self._signals.setdefault(signal_sha256(r), []).append(i)
        found |= set(self._signals.get(signal_sha256(rec), []))
        return sorted(found)

    def cuts(self, rec: Record) -> list[tuple[int, int]]:
        """The [start, end) samples of `rec` the checkpoint trained or validated on."""
        return [c for i in self._matches(rec) for c in self.seen[i][1]]


def where_of(data: DictConfig) -> str:
    """Where a data config reads from, in words: the folder, the manifest, or the simulated set's seed."""
    if data.source == "simulated":
        sim = data.get("simulated") or {}
        return f"(seed {sim.get('seed', 0)}, {float(sim.get('seconds', 10.0)):g} s)"
    return _resolved(data.manifest) if data.source == "manifest" and data.get("manifest") else _resolved(data.root)


def whole_records(records: Sequence[Record], data: DictConfig, protocol: str) -> WindowSet:
    """Every window of every record, at the hop data.stride_eval, as the test split (train and val empty)."""
    window, stride = int(data.window), int(data.stride_eval)
    classes = labels_in_order(records)
    parts = []
    for i, rec in enumerate(records):
        rec.role = "test"
        w = make_windows(rec.signal, window, stride,
                         name=f"{rec.file} (whole record, {len(rec.signal)} samples at {rec.fs} Hz)")
        n = len(w)
        parts.append((w.astype(np.float32, copy=False), np.full(n, classes.index(rec.label)), np.full(n, i),
                      np.arange(n) * stride))
    test = Split(*(np.concatenate([p[k] for p in parts]) for k in range(4)))

    def empty() -> Split:
        return Split(np.zeros((0, window), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64),
                     np.zeros(0, np.int64))

    return WindowSet({"train": empty(), "val": empty(), "test": test}, classes, list(records), window,
                     int(data.fs), protocol)


def target_windows(cfg: DictConfig, config: dict,
                   stored: Sequence[dict] | None = None) -> tuple[WindowSet, TrainingFiles | None]:
    """The windows to score for the evaluation config `cfg` of a checkpoint trained with `config` (and
    `stored`, its data_files), and the training files to check them against (None: the run's own split,
    or new data)."""
    orig = OmegaConf.create(config).data
    fill_data(orig)
    if orig == cfg.data:
        return build_windows(cfg.data), None  # the run's own split: its test is apart
    records = source_reader(cfg.data.source)(cfg.data)
    training = TrainingFiles(orig, stored)
    if training.unread and not training.digests and cfg.data.source == orig.source:
        raise LeakError(f"the checkpoint's training data cannot be read here ({training.unread}), so the "
                        f"{cfg.data.source} records of {where_of(cfg.data)} cannot be checked against it: they "
                        "may be the very recordings it trained on; make its data.root readable here")
    if not any(training.shares(r) for r in records):
        if training.unread:
            log.warning("the checkpoint's training data cannot be read here (%s); %s", training.unread,
                        "no file read here is one it trained on (sha256)" if training.digests else
                        f"it came from another source ({orig.source}), so no file can be shared")
        note = "; training data unread here" if training.unread else ""
        return whole_records(records, cfg.data, f"{NEW_DATA}: {cfg.data.name} {where_of(cfg.data)} "
                                                f"(whole records{note})"), None
    if training.unread and training.digests:
        return _moved_training(cfg, orig, records, training)
    if training.unread:
        raise LeakError(f"{next(r.file for r in records if training.shares(r))} lies in the training folder, "
                        f"but the training data cannot be read to check for overlap: {training.unread}")
    return build_windows(cfg.data), training


def _moved_training(cfg: DictConfig, orig: DictConfig, records: Sequence[Record],
                    unread: TrainingFiles) -> tuple[WindowSet, TrainingFiles | None]:
    """Files the checkpoint trained on, at another path than its own (a copy of its data on this machine):
    its training data read there instead, refused unless it is file for file what the checkpoint stored."""
    key = input_key(orig.source)
    moved = orig.copy()
    moved[key] = cfg.data[key]
    training = TrainingFiles(moved)
    if not training.same_as(unread.digests, trained_only=True):
        culprit = next(r.file for r in records if unread.shares(r))
        why = training.unread or "its files there differ from those the checkpoint stored (sha256)"
        raise LeakError(f"{culprit} is a file the checkpoint trained on, but its other training files cannot be "
                        f"read at data.{key}={cfg.data[key]} to check for overlap: {why}")
    if moved == cfg.data and training.same_as(unread.digests):
        return build_windows(cfg.data), None  # the run's own data, moved: its own split, its test apart
    return build_windows(cfg.data), training
def refuse_leaks(ws: WindowSet, training: TrainingFiles | None, checkpoint) -> None:
    """Refuse test windows that overlap samples the checkpoint trained or validated on."""
    if training is None:
        return
    test = ws.splits["test"]
    cuts = [training.cuts(rec) for rec in ws.records]
    bad = [(ws.records[r].file, int(s)) for r, s in zip(test.record, test.start, strict=True)
           if any(s < b and a < s + ws.window for a, b in cuts[r])]
    if bad:
        f, s = bad[0]
        raise LeakError(f"{len(bad)} of {len(test.y)} test windows overlap samples {checkpoint} was trained or "
                        f"validated on (first: {f}, samples {s}-{s + ws.window}); test on records or "
                        "stretches it did not see (e.g. data.test_loads of loads it was not trained on)")
