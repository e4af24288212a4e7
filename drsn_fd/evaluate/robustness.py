"""The robustness curve: test accuracy at each SNR of eval.snrs, on fixed test noise."""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import DictConfig
from sklearn.metrics import accuracy_score, f1_score

from drsn_fd.data.pipeline import NoisyWindows
from drsn_fd.evaluate.predict import predict


def curve_kinds(cfg: DictConfig) -> list[str]:
    """eval.kinds, else the run's own noise kind (gaussian for a clean run)."""
    if cfg.eval.kinds:
        return list(cfg.eval.kinds)
    return [cfg.noise.kind if cfg.noise.kind != "none" else "gaussian"]


def curve_points(cfg: DictConfig) -> list[tuple[str, float | None]]:
    """(kind, snr) of every point of the curve; ('none', None) is the clean test split."""
    points = [("none", None)] if cfg.eval.clean else []
    return points + [(k, float(s)) for k in curve_kinds(cfg) for s in cfg.eval.snrs]


def robustness_curve(model: torch.nn.Module, data: NoisyWindows, cfg: DictConfig, y_true: np.ndarray,
                     batch: int, amp: bool = False, split: str = "test") -> list[dict]:
    """[{kind, snr, acc, macro_f1}] for each kind and SNR, plus the clean windows, of a test split."""
    rows = []
    for kind, snr in curve_points(cfg):
        _, pred = predict(model, data.fixed(split, kind, snr), data.y[split], batch, amp)
        rows.append({"kind": kind if snr is not None else "clean", "snr": snr,
                     "acc": float(accuracy_score(y_true, pred)),
                     "macro_f1": float(f1_score(y_true, pred, average="macro", zero_division=0))})
    return rows
