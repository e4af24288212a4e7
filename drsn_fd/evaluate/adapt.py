"""adapt=bn: AdaBN (Li et al. 2016), BatchNorm statistics re-estimated on the unlabelled target windows.

Three forms, scored at every point of an evaluation (its test noise, then each point of the
robustness curve). At each point the statistics are those of the target windows of that very
point, noisy at its SNR and normalised, re-estimated exactly in one pass on a copy of the model
(`models.batchnorm.with_reestimated_bn`); the checkpoint and its weights never change.

- `none`: the checkpoint's statistics (no adaptation);
- `bn_transductive`: the statistics of the scored windows themselves;
- `bn_inductive`: the statistics of the first half of each target record's windows; the second
  half is scored.

The test windows of each record are split by time: its *first half* (the first floor(n/2) of its
n windows) and its *second half* (the later windows that share no sample with the first half:
with overlapping windows, stride < window, the few at the boundary are in neither). A record with
a single window has no first half; its window is in the second half.

So that every pair is scored on the very same windows, all three forms are scored on the second
halves (`paired`); `none` and `bn_transductive` are also scored on all windows (`all`, where `none`
is the record's own `test` and `robustness`, stored once). The record's `adapt` part:

    method      bn
    paired      windows (count), test {form: metrics and loss}, robustness {form: [{kind, snr, acc, macro_f1}]}
    all         the same for bn_transductive on all the test windows
    halves      [{file, windows, adapt: {windows, samples: [a, b)}, score: {windows, samples: [a, b)}}]:
                per record, the windows bn_inductive adapted on and those every form scored
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from omegaconf import DictConfig
from sklearn.metrics import accuracy_score, f1_score

from drsn_fd.data.pipeline import NoisyWindows, test_snr
from drsn_fd.data.windows import Split, WindowSet
from drsn_fd.errors import ConfigError, DataError
from drsn_fd.evaluate.metrics import classification_metrics
from drsn_fd.evaluate.predict import predict
from drsn_fd.evaluate.robustness import curve_points
from drsn_fd.models.batchnorm import with_reestimated_bn

log = logging.getLogger(__name__)
ADAPT = ("none", "bn")  # the values of drsn-evaluate adapt=
FORMS = ("none", "bn_transductive", "bn_inductive")


def check_adapt(value: object) -> str:
    """adapt=none | bn; ConfigError otherwise."""
    if value not in ADAPT:
        raise ConfigError(f"adapt={value!r} is unknown; allowed: {', '.join(ADAPT)} (bn: AdaBN, BatchNorm "
                          "statistics re-estimated on the unlabelled target windows)")
    return str(value)


@dataclass
class Halves:
    """Indices into a test split: the first half of each record's windows, and the second half."""

    first: np.ndarray  # bn_inductive adapts on these
    second: np.ndarray  # every form scores these


def record_halves(split: Split, window: int) -> Halves:
    """Each record's windows by time: the first floor(n/2), and the later ones that share no sample with them."""
    first, second = [], []
    for r in np.unique(split.record):
        idx = np.flatnonzero(split.record == r)
        idx = idx[np.argsort(split.start[idx], kind="stable")]
        k = len(idx) // 2
        end = split.start[idx[k - 1]] + window if k else np.iinfo(np.int64).min
        first.append(idx[:k])
        second.append(idx[k:][split.start[idx[k:]] >= end])
    return Halves(np.concatenate(first).astype(np.int64), np.concatenate(second).astype(np.int64))


def adapted(model: torch.nn.Module, x: torch.Tensor, form: str) -> torch.nn.Module:
    """A copy of `model` with the BatchNorm statistics of windows `x` (for `form`); the one place they are taken."""
    log.debug("%s: BatchNorm statistics of %d windows", form, len(x))
    return with_reestimated_bn(model, x)


def _scores(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, halves: Halves, batch: int,
            amp: bool) -> dict[str, dict[str, tuple[float, np.ndarray]]]:
    """(mean loss, predictions) of each form on the second halves (`paired`) and on all windows (`all`)."""
    first = torch.as_tensor(halves.first, device=x.device)
    second = torch.as_tensor(halves.second, device=x.device)
    xs, ys = x[second], y[second]
    return {
        "paired": {"none": predict(model, xs, ys, batch, amp),
                   "bn_transductive": predict(adapted(model, xs, "bn_transductive"), xs, ys, batch, amp),
                   "bn_inductive": predict(adapted(model, x[first], "bn_inductive"), xs, ys, batch, amp)},
        "all": {"bn_transductive": predict(adapted(model, x, "bn_transductive (all windows)"), x, y, batch, amp)},
    }


def _curve_row(kind: str, snr: float | None, y_true: np.ndarray, pred: np.ndarray) -> dict:
    """A robustness row as `robustness.robustness_curve` writes it."""
    return {"kind": kind if snr is not None else "clean", "snr": snr, "acc": float(accuracy_score(y_true, pred)),
            "macro_f1": float(f1_score(y_true, pred, average="macro", zero_division=0))}


def _halves_part(ws: WindowSet, halves: Halves) -> list[dict]:
    split, out = ws.splits["test"], []

    def span(idx: np.ndarray) -> dict:
        starts = split.start[idx]
        samples = [int(starts.min()), int(starts.max()) + ws.window] if len(idx) else None
        return {"windows": int(len(idx)), "samples": samples}

    for r in np.unique(split.record):
        out.append({"file": ws.records[int(r)].file, "windows": int((split.record == r).sum()),
                    "adapt": span(halves.first[split.record[halves.first] == r]),
                    "score": span(halves.second[split.record[halves.second] == r])})
    return out


def adapt_part(model: torch.nn.Module, data: NoisyWindows, cfg: DictConfig, ws: WindowSet, batch: int,
               amp: bool) -> dict:
    """The `adapt` part of an evaluation record: every form at the test noise and at each curve point.

    `model` holds the weights to score (its own statistics are the form `none`); it is not changed.
    """
    split = ws.splits["test"]
    halves = record_halves(split, ws.window)
    if not len(halves.first) or not len(halves.second):
        raise DataError(f"adapt=bn: no test record has two windows that share no sample ({len(split.y)} test "
                        f"windows of {ws.window} samples); the inductive form needs a first half to adapt on")
    y = data.y["test"]
    truth = {"paired": split.y[halves.second], "all": split.y}
    part = {"method": "bn",
            "paired": {"windows": int(len(halves.second)), "test": {}, "robustness": {f: [] for f in FORMS}},
            "all": {"windows": int(len(split.y)), "test": {}, "robustness": {"bn_transductive": []}}}
    points = [("test", cfg.noise.kind, test_snr(cfg.noise))] + [("curve", k, s) for k, s in curve_points(cfg)]
    for where, kind, snr in points:
        scores = _scores(model, data.fixed("test", kind, snr), y, halves, batch, amp)
        for scope, forms in scores.items():
            for form, (loss, pred) in forms.items():
                if where == "test":
                    part[scope]["test"][form] = {**classification_metrics(truth[scope], pred, ws.classes), "loss": loss}
                else:
                    part[scope]["robustness"][form].append(_curve_row(kind, snr, truth[scope], pred))
    part["halves"] = _halves_part(ws, halves)
    return part
