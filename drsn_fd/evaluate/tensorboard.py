"""TensorBoard: curves per epoch, threshold histograms, test results and hparams."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from drsn_fd.data.pipeline import test_snr, train_snr
from drsn_fd.evaluate.metrics import confusion_figure
from drsn_fd.models.shrinkage import shrinkage_units


def _hp(value) -> int | float | str | bool:
    """A value the HParams tab can show: numbers stay numbers, no SNR is `clean`, the rest a string."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return "clean" if value is None else str(OmegaConf.to_container(value) if OmegaConf.is_config(value) else value)


def swept() -> list[tuple[str, str]]:
    """(key, value) of the job's Hydra overrides that name its folder (seed, device... excluded).

    Under a sweep these are the keys the sweep varies; outside Hydra (tests, scripts) there are none.
    """
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    hc = HydraConfig.get()
    exclude = set(hc.job.config.override_dirname.exclude_keys)
    pairs = [o.partition("=") for o in hc.overrides.task if not o.startswith("~")]
    return [(k.lstrip("+"), v) for k, _, v in pairs if k.lstrip("+") not in exclude]


def comparison_hparams(cfg: DictConfig, record: dict, overrides: list[tuple[str, str]] = ()) -> dict:
    """The hyperparameters a comparison needs, the overridden (swept) keys first: TensorBoard's order."""
    base = {"model": cfg.model.name, "noise.kind": cfg.noise.kind, "noise.snr": _hp(test_snr(cfg.noise)),
            "noise.train_snr": _hp(train_snr(cfg.noise)), "protocol": record["protocol"],
            "split_protocol": str(record["data"]["split_protocol"]), "seed": int(cfg.seed),
            "trainer.epochs": int(cfg.trainer.epochs), "data": cfg.data.name}
    out = {}
    for key, value in overrides:
        v = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
        out[key] = base[key] if key in base else _hp(value if v is None or OmegaConf.is_config(v) else v)
    return {**out, **{k: v for k, v in base.items() if k not in out}}


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
        metrics = {"hparam/test_acc": best["acc"], "hparam/test_acc_last": record["test"]["last"]["acc"],
                   "hparam/test_macro_f1": best["macro_f1"],
                   "hparam/best_val_acc": (record["best"] or {}).get("val_acc", float("nan"))}
        # Beside the curves in tb/, so TensorBoard names the run by its folder (under a sweep
        # <overrides>/seed=N/tb). Only the session, no per-run experiment: TensorBoard then builds the
        # experiment from all runs, marks the keys whose values differ and lists those first.
        _, start, end = hparams(comparison_hparams(cfg, record, swept()), metrics)
        for summary in (start, end):
            self.w.file_writer.add_summary(summary)
        for tag, value in metrics.items():
            self.w.add_scalar(tag, value)

    def close(self) -> None:
        self.w.close()
