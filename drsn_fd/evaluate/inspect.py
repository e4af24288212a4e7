"""drsn-inspect: what the learned thresholds of a trained DRSN do as the noise grows.

On the test windows of the checkpoint's own data config, at each SNR of its `eval.snrs`
(the very noisy windows training scored: NoisyWindows, noise seeded by seed, split, kind
and SNR), measure per shrinkage unit:

- `alpha_mean`: the mean of alpha = tau / mean|feature| (per window and channel for CW,
  per window for CS, where the mean is also over channels);
- `zero_fraction`: the share of the unit's features the soft threshold sets to zero.

Writes `thresholds.csv` (one row per unit, noise kind and SNR), `thresholds.png` (both
against the input SNR, one line per unit) and TensorBoard events (scalars per unit with
the SNR as step, alpha histograms per SNR, the figure) into `tb/`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig

from drsn_fd.data.pipeline import NoisyWindows, test_snr
from drsn_fd.errors import DataError, DrsnError
from drsn_fd.evaluate.checkpoint_config import checkpoint_config, stored_input_here
from drsn_fd.evaluate.robustness import curve_kinds
from drsn_fd.evaluate.target import refuse_leaks, target_windows
from drsn_fd.evaluate.tensorboard import TBLogger
from drsn_fd.io import write_text
from drsn_fd.models.checkpoint import load_model
from drsn_fd.models.shrinkage import shrinkage_units

log = logging.getLogger(__name__)

OVERRIDABLE = ("data.", "eval.")


def run_dir_of(checkpoint: str | Path) -> Path:
    """The run folder of `run/checkpoints/best.pt`, else the checkpoint's folder."""
    folder = Path(checkpoint).resolve().parent
    return folder.parent if folder.name == "checkpoints" else folder


def inspect_config(config: dict, overrides: list[str], where: object = "the checkpoint") -> DictConfig:
    """The checkpoint's training config with `data.*` and `eval.*` overrides (key=value), checked."""
    cfg = checkpoint_config(config, overrides, OVERRIDABLE, where)
    stored_input_here(cfg, config, overrides, where)
    return cfg


@torch.inference_mode()
def measure(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> tuple[list[dict], float]:
    """Per shrinkage unit on windows x: alpha mean and std, zero fraction; and the accuracy."""
    units = shrinkage_units(model)
    acc = np.zeros((len(units), 5))  # sum alpha, sum alpha^2, n alpha, zeros, features

    def hook(i):
        def fn(m, inputs, out):
            a = m.last_alpha.double()
            acc[i] += [a.sum().item(), a.pow(2).sum().item(), a.numel(), (out == 0).sum().item(), out.numel()]
        return fn

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(units)]
    for m in units:
        m.record = True
    model.eval()
    correct = 0
    try:
        for i in range(0, len(x), batch):
            correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    finally:
        for m, h in zip(units, handles, strict=True):
            m.record, m.last_alpha, m.last_tau = False, None, None
            h.remove()
    rows = []
    for i, (m, (s, s2, n, z, f)) in enumerate(zip(units, acc, strict=True)):
        mean = s / n
        rows.append({"unit": i + 1, "channels": m.fc[0].in_features, "alpha_mean": mean,
                     "alpha_std": float(np.sqrt(max(s2 / n - mean ** 2, 0.0))), "zero_fraction": z / f})
    return rows, correct / max(len(x), 1)


def thresholds_figure(table: pd.DataFrame, title: str):
    """Mean alpha and zero fraction against the input SNR, one line per unit (line style per kind)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.4), constrained_layout=True)
    units = sorted(table["unit"].unique())
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(units)))
    styles = dict(zip(sorted(table["kind"].unique()), ["-", "--", ":", "-."], strict=False))
    for ax, col, label in ((axes[0], "alpha_mean", "mean alpha = tau / mean|feature|  (ratio)"),
                           (axes[1], "zero_fraction", "features set to zero  (fraction)")):
        for (kind, unit), g in table.groupby(["kind", "unit"]):
            g = g.sort_values("snr_db")
            name = f"unit {unit} ({g['channels'].iloc[0]} ch)" + (f", {kind}" if len(styles) > 1 else "")
            ax.plot(g["snr_db"], g[col], styles[kind], marker="o", ms=3, color=colours[units.index(unit)], label=name)
        ax.set_xlabel("input SNR (dB)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, ncol=2 if len(units) > 6 else 1, title="shrinkage unit (depth order)",
                   title_fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def inspect_thresholds(checkpoint: str | Path, overrides: list[str] | None = None,
                       out: str | Path | None = None) -> dict:
    """Measure, write the table, the figure and TensorBoard events; return them with the accuracies."""
    model, ck = load_model(checkpoint)
    units = shrinkage_units(model)
    if not units:
        raise DrsnError(f"{checkpoint}: model {ck['model']!r} has no shrinkage units; drsn-inspect needs a "
                        "checkpoint of a model with shrinkage or scaling units (drsn_cs, drsn_cw, se_resnet)")
    cfg = inspect_config(ck["config"], list(overrides or []), checkpoint)
    out = Path(out) if out else run_dir_of(checkpoint) / "inspect"
    ws, training = target_windows(cfg, ck["config"])  # as drsn-evaluate: never windows it trained on
    refuse_leaks(ws, training, checkpoint)
    if ws.classes != list(ck["classes"]) or ws.fs != int(ck["fs"]) or ws.window != int(ck["window"]):
        raise DataError(f"the data config gives classes {ws.classes} at {ws.fs} Hz, window {ws.window}, but "
                        f"{checkpoint} was trained on {list(ck['classes'])} at {ck['fs']} Hz, window {ck['window']}")
    data = NoisyWindows(ws, cfg, torch.device("cpu"))
    # Training draws its own test point first and NoisyWindows caches by value (0 == 0.0), so the
    # robustness point at noise.snr reuses that draw: ask in the same order to get the same windows.
    data.fixed("test", cfg.noise.kind, test_snr(cfg.noise))
    batch = int(cfg.trainer.eval_batch_size)
    tb = TBLogger(out / "tb", bool(cfg.logger.histograms))
    rows, accuracy = [], []
    try:
        for kind in curve_kinds(cfg):
            for snr in sorted(float(s) for s in cfg.eval.snrs):
                x = data.fixed("test", kind, snr)
                per_unit, acc = measure(model, x, data.y["test"], batch)
                accuracy.append({"kind": kind, "snr_db": snr, "acc": acc})
                log.info("%s %+.1f dB: test accuracy %.4f | alpha %s | zero %s", kind, snr, acc,
                         " ".join(f"{r['alpha_mean']:.3f}" for r in per_unit),
                         " ".join(f"{r['zero_fraction']:.3f}" for r in per_unit))
                step = int(round(snr))
                for r in per_unit:
                    rows.append({"kind": kind, "snr_db": snr, **r, "windows": len(x)})
                    tb.w.add_scalar(f"inspect/{kind}_alpha/unit{r['unit']:02d}", r["alpha_mean"], step)
                    tb.w.add_scalar(f"inspect/{kind}_zero_fraction/unit{r['unit']:02d}", r["zero_fraction"], step)
                tb.w.add_scalar(f"inspect/{kind}_test_acc", acc, step)
                tb.thresholds(model, x[:batch], step)  # alpha and tau histograms at this SNR
        table = pd.DataFrame(rows)
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "thresholds.csv", table.to_csv(index=False))
        title = (f"{ck['model']} on {cfg.data.name}: learned thresholds vs input SNR "
                 f"(test split, {len(ws.splits['test'].y)} windows per SNR)")
        fig = thresholds_figure(table, title)
        fig.savefig(out / "thresholds.png", dpi=130)
        tb.w.add_figure("inspect/thresholds_vs_snr", fig)
    finally:
        tb.close()
    return {"table": table, "accuracy": pd.DataFrame(accuracy), "csv": out / "thresholds.csv",
            "figure": out / "thresholds.png", "tb": out / "tb", "model": ck["model"]}
