"""The robustness curve: test accuracy at each SNR of eval.snrs, on fixed test noise."""

from __future__ import annotations

from omegaconf import DictConfig
from sklearn.metrics import accuracy_score, f1_score


def curve_kinds(cfg: DictConfig) -> list[str]:
    """eval.kinds, else the run's own noise kind (gaussian for a clean run)."""
    if cfg.eval.kinds:
        return list(cfg.eval.kinds)
    return [cfg.noise.kind if cfg.noise.kind != "none" else "gaussian"]


def robustness_curve(model, data, cfg: DictConfig, ws, batch: int, amp: bool) -> list[dict]:
    """[{kind, snr, acc, macro_f1}] for each kind and SNR, plus the clean test windows."""
    from drsn_fd.train.loop import predict

    y = ws.splits["test"].y
    points = [("none", None)] if cfg.eval.clean else []
    points += [(k, float(s)) for k in curve_kinds(cfg) for s in cfg.eval.snrs]
    rows = []
    for kind, snr in points:
        _, pred = predict(model, data.fixed("test", kind, snr), data.y["test"], batch, amp)
        rows.append({"kind": kind if snr is not None else "clean", "snr": snr,
                     "acc": float(accuracy_score(y, pred)),
                     "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0))})
    return rows
