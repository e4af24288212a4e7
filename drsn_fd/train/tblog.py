"""TensorBoard: curves per epoch, threshold histograms, test results and hparams."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard import SummaryWriter

from drsn_fd.evaluate.metrics import confusion_figure


def _shrinkage(model) -> list:
    return model.shrinkage_modules() if hasattr(model, "shrinkage_modules") else []


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
    """Writes a run's TensorBoard events into `tb/`."""

    def __init__(self, log_dir: Path, cfg: DictConfig, purge_step: int = 0):
        self.cfg = cfg
        self.w = SummaryWriter(str(log_dir), purge_step=purge_step or None)
        self.histograms = bool(cfg.logger.histograms)

    def epoch(self, row: dict, model) -> None:
        e = row["epoch"]
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            split, metric = key.split("_")
            self.w.add_scalar(f"{split}/{metric}", row[key], e)
        self.w.add_scalar("lr", row["lr"], e)

    def thresholds(self, model, x: torch.Tensor, step: int) -> None:
        """Histograms of alpha (tau / mean|x|) per shrinkage unit on a batch of windows."""
        mods = _shrinkage(model)
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
            self.w.add_histogram(f"thresholds/unit{i + 1:02d}_tau", m.last_tau.float().cpu(), step)

    def final(self, record: dict, model, data, cfg: DictConfig, eval_batch: int) -> None:
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
        from drsn_fd.evaluate.plots import curve_figure

        self.w.add_figure("robustness/curve", curve_figure(record["robustness"], title), epochs)
        x = data.fixed("test", cfg.noise.kind, cfg.noise.snr if cfg.noise.kind != "none" else None)
        self.thresholds(model, x[:eval_batch], epochs)
        self.w.add_hparams(flat_hparams(cfg), {"hparam/test_acc": best["acc"], "hparam/best_val_acc":
                                               record["best"]["val_acc"]}, run_name=".")

    def close(self) -> None:
        self.w.close()
