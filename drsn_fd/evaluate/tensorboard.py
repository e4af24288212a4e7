"""TensorBoard: curves per epoch, threshold histograms, test results and hparams."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard import SummaryWriter

from drsn_fd.evaluate.metrics import confusion_figure
from drsn_fd.models.shrinkage import shrinkage_units


def flat_hparams(cfg: DictConfig) -> dict:
    """The config flattened to scalar values, for the HParams tab."""
    out = {}

    def walk(node, prefix):
        for k, v in node.items():
            key = f"{prefix}{k}"
            if isinstance(v, dict):
                walk(v, key + ".")
            elif isinstance(v, (int, float, str, bool)):
                out[key] = v
            elif v is None:
                out[key] = "null"
            else:
                out[key] = str(v)

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return out


class TBLogger:
    """Writes a run's TensorBoard events into `log_dir`."""

    def __init__(self, log_dir: Path, histograms: bool = True, purge_step: int = 0):
        self.w = SummaryWriter(str(log_dir), purge_step=purge_step or None)
        self.histograms = histograms

    def epoch(self, row: dict) -> None:
        """The scalars of one epoch's history row."""
        e = row["epoch"]
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            split, metric = key.split("_")
            self.w.add_scalar(f"{split}/{metric}", row[key], e)
        self.w.add_scalar("lr", row["lr"], e)

    def thresholds(self, model: torch.nn.Module, x: torch.Tensor, step: int) -> None:
        """Histograms of alpha (tau / mean|x|) and tau per shrinkage unit on a batch of windows."""
        mods = shrinkage_units(model)
        if not mods or not self.histograms:
            return
        for m in mods:
            m.record = True
        model.eval()
        with torch.inference_mode():
            model(x)
        for i, m in enumerate(mods):
            m.record = False
            self.w.add_histogram(f"thresholds/unit{i + 1:02d}_alpha", m.last_alpha.float().cpu(), step)
            if m.last_tau is not None:
                self.w.add_histogram(f"thresholds/unit{i + 1:02d}_tau", m.last_tau.float().cpu(), step)

    def final(self, record: dict, cfg: DictConfig, model: torch.nn.Module, x_test: torch.Tensor) -> None:
        """Test metrics, the confusion and robustness figures, thresholds on x_test, and hparams."""
        from drsn_fd.evaluate.plots import curve_figure

        best = record["test"]["best"]
        epochs = len(record["history"])
        self.w.add_scalar("test/acc", best["acc"], epochs)
        self.w.add_scalar("test/macro_f1", best["macro_f1"], epochs)
        self.w.add_scalar("test/acc_last", record["test"]["last"]["acc"], epochs)
        title = f"{cfg.model.name} | {cfg.data.name} | {record['protocol']} | test {cfg.noise.kind} {cfg.noise.snr} dB"
        self.w.add_figure("test/confusion", confusion_figure(best["confusion"], best["classes"], title), epochs)
        for p in record["robustness"]:
            tag = "robustness/clean_acc" if p["snr"] is None else f"robustness/{p['kind']}_acc"
            self.w.add_scalar(tag, p["acc"], int(round(p["snr"] or 0)))
        self.w.add_figure("robustness/curve", curve_figure(record["robustness"], title), epochs)
        self.thresholds(model, x_test, epochs)
        self.w.add_hparams(flat_hparams(cfg), {"hparam/test_acc": best["acc"], "hparam/best_val_acc":
                                               (record["best"] or {}).get("val_acc", float("nan"))},
                           run_name=".")

    def close(self) -> None:
        self.w.close()
