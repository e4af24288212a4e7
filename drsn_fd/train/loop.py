"""One training run: set up, then for each epoch train, validate, select, checkpoint; test once.

`run(cfg, output_dir) -> dict` is the whole job; the CLI is a thin wrapper around it. With
`trainer.precise_bn` validation and test score a copy of the model whose BatchNorm statistics are
re-estimated on the epoch's training windows; the training model itself is never touched. best.pt
holds the state its validation scored; last.pt the training state to resume from and, with precise
BN, `scored_state`: the state its epoch was scored with (the test's "last" weights).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from drsn_fd.data.noise import derived_seed, generator
from drsn_fd.data.pipeline import NoisyWindows, test_snr
from drsn_fd.data.seeds import SEED_PARTS, part_seed
from drsn_fd.data.sources.files import file_digests
from drsn_fd.data.windows import WindowSet, build_windows
from drsn_fd.errors import ConfigError
from drsn_fd.evaluate.device import bf16, pick_device, switch
from drsn_fd.evaluate.predict import predict
from drsn_fd.evaluate.record import condition_summary, data_summary, noise_summary, test_parts
from drsn_fd.evaluate.tensorboard import TBLogger, swept
from drsn_fd.models import model_from_config
from drsn_fd.models.batchnorm import with_reestimated_bn
from drsn_fd.models.checkpoint import load_checkpoint, save_checkpoint
from drsn_fd.train.device import seed_everything, set_deterministic, set_threads
from drsn_fd.train.run_folder import RunFolder
from drsn_fd.train.signals import StopSignals
from drsn_fd.validate import check_config, protocol

log = logging.getLogger(__name__)


def improves(row: dict, best: dict | None) -> bool:
    """Model selection on validation only: higher accuracy wins, a tie goes to the lower loss.

    A small validation split saturates (often 100 %) long before training ends; without the
    tie-break the first saturated epoch, still under-trained, would be kept.
    """
    return best is None or (row["val_acc"], -row["val_loss"]) > (best["val_acc"], -best["val_loss"])


def select(history: list[dict]) -> dict | None:
    """The epoch the selection rule keeps: {epoch, val_acc, val_loss}, or None before any epoch."""
    best = None
    for row in history:
        if improves(row, best):
            best = row
    return None if best is None else {k: best[k] for k in ("epoch", "val_acc", "val_loss")}


def steps_per_epoch(n: int, batch: int) -> int:
    steps = math.ceil(n / batch)
    return steps - 1 if n % batch == 1 else steps  # BatchNorm needs 2 windows in a batch


def run(cfg: DictConfig, output_dir: str | Path) -> dict:
    """Train, select on validation, test once; write metrics.json, checkpoints and tb/."""
    t0 = time.perf_counter()
    check_config(cfg)
    folder = RunFolder(output_dir)
    done = folder.claim(cfg, {"protocol": protocol(cfg), "model": cfg.model.name, "seed": int(cfg.seed),
                              "seeds": {p: part_seed(cfg, p) for p in SEED_PARTS},
                              "condition": condition_summary(_experiment(), swept()),
                              "precise_bn": precise_bn(cfg), "config": OmegaConf.to_container(cfg, resolve=True)})
    if done is not None:
        return done
    with folder.recording(t0), StopSignals() as stop:
        train(cfg, folder, stop, t0)
    return folder.record


def precise_bn(cfg: DictConfig) -> bool:
    """trainer.precise_bn, refused by name unless true or false."""
    value = cfg.trainer.precise_bn
    if not isinstance(value, bool):
        raise ConfigError(f"trainer.precise_bn={value!r} is not a switch; allowed: true, false")
    return value


def _experiment() -> str | None:
    """The experiment config the Hydra job composed (experiment=NAME), or None (none, or outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().runtime.choices.get("experiment") if HydraConfig.initialized() else None


@dataclass
class Setup:
    """What the epochs and the test share, built once by `set_up`."""

    cfg: DictConfig
    folder: RunFolder
    device: torch.device
    amp: bool  # bf16 autocast (trainer.amp)
    ws: WindowSet
    data: NoisyWindows
    model: torch.nn.Module
    step_model: torch.nn.Module  # what the training steps call: the model, compiled with trainer.compile
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    meta: dict  # what every checkpoint holds besides its weights and state
    tb: TBLogger | None
    start: int  # the first epoch to train: 0, or the epochs last.pt holds when resuming
    t_data: float
    precise_bn: bool = False  # trainer.precise_bn
    scored: dict | None = None  # precise BN: the state the last validation scored (last.pt's scored_state)

    @property
    def record(self) -> dict:
        return self.folder.record


def train(cfg: DictConfig, folder: RunFolder, stop: StopSignals, t0: float) -> None:
    """The loop; it fills `folder.record` and saves it after every epoch."""
    s = set_up(cfg, folder, t0)
    t_train = time.perf_counter()
    for epoch in range(s.start, int(cfg.trainer.epochs)):
        train_epoch(s, epoch, stop)
        stop.check()
    test(s, time.perf_counter() - t_train)


def set_up(cfg: DictConfig, folder: RunFolder, t0: float) -> Setup:
    """Device, data, model, optimiser and schedule; the record's header; last.pt's state on resume."""
    record = folder.record
    deterministic = bool(cfg.trainer.deterministic)
    set_deterministic(deterministic)
    seed_everything(part_seed(cfg, "init"))  # the global RNG: the initial weights
    threads = set_threads(cfg.trainer.threads)
    device = pick_device(str(cfg.device))
    ws = build_windows(cfg.data)
    data = NoisyWindows(ws, cfg, device)
    t_data = time.perf_counter() - t0

    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    model = model_from_config(model_cfg, len(ws.classes)).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    compiled = switch(cfg.trainer.compile, device, deterministic)
    step_model = torch.compile(model) if compiled else model
    use_bf16 = bf16(cfg.trainer, device)
    optimizer = instantiate(cfg.optim)(model.parameters())
    scheduler = instantiate(cfg.scheduler)(optimizer, epochs=int(cfg.trainer.epochs))
    log.info("%s: %d parameters | %s, %s | %d classes | windows train/val/test %d/%d/%d | %s | device %s%s%s",
             cfg.model.name, n_params, cfg.data.name, ws.protocol, len(ws.classes), len(ws.splits["train"].y),
             len(ws.splits["val"].y), len(ws.splits["test"].y), record["protocol"], device,
             ", bf16 autocast" if use_bf16 else "", ", compiled" if compiled else "")
    record.update(params=n_params, device=str(device), threads=threads, bf16=use_bf16, compiled=compiled,
                  data=data_summary(ws, cfg.data),
                  noise=noise_summary(cfg.noise), history=[], best=None)
    meta = {"model": cfg.model.name, "model_cfg": model_cfg, "classes": ws.classes, "fs": ws.fs,
            "window": ws.window, "normalize": cfg.data.normalize, "config": record["config"], "params": n_params,
            "data_files": file_digests(ws.records)}

    start, scored = 0, None
    if cfg.trainer.resume and (state := folder.resume_state(device)) is not None:
        model.load_state_dict(state["model_state"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, record["history"] = state["epoch"], state["history"]
        scored = state.get("scored_state")
        record["best"] = select(record["history"])
        log.info("resuming from %s after epoch %d", folder.last, start)
    tb = TBLogger(folder.path / "tb", bool(cfg.logger.histograms), purge_step=start) if cfg.logger.enabled else None
    return Setup(cfg, folder, device, use_bf16, ws, data, model, step_model, optimizer, scheduler,
                 meta, tb, start, t_data, precise_bn(cfg), scored)


def train_epoch(s: Setup, epoch: int, stop: StopSignals) -> None:
    """One epoch: fresh training noise, the steps, then validate, select, checkpoint, save the record."""
    te = time.perf_counter()
    cfg, device, record = s.cfg, s.device, s.record
    epochs, batch = int(cfg.trainer.epochs), int(cfg.trainer.batch_size)
    x_train, y_train = s.data.train_epoch(epoch), s.data.y["train"]
    n_train = len(y_train)
    steps = steps_per_epoch(n_train, batch)
    order = generator(derived_seed(part_seed(cfg, "order"), "perm", epoch), device)
    perm = torch.randperm(n_train, generator=order, device=device)
    loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long)
    autocast = torch.autocast("cuda", torch.bfloat16) if s.amp else nullcontext()
    s.step_model.train()
    for step in _progress(range(steps), f"epoch {epoch + 1}/{epochs}", _show_bar(cfg)):
        idx = perm[step * batch:(step + 1) * batch]
        xb, yb = x_train[idx], y_train[idx]
        with autocast:
            logits = s.step_model(xb)
            loss = F.cross_entropy(logits.float(), yb)
        s.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        s.optimizer.step()
        loss_sum += loss.detach() * len(idx)
        correct += (logits.argmax(1) == yb).sum()
        stop.check()  # a stop signal ends the run here; last.pt holds the last finished epoch
    seen = min(steps * batch, n_train)
    lr = s.optimizer.param_groups[0]["lr"]
    s.scheduler.step()

    scored = scored_model(s, x_train)
    val_loss, val_acc = validate(scored, s)
    row = {"epoch": epoch + 1, "train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen,
           "val_loss": val_loss, "val_acc": val_acc, "lr": lr, "seconds": round(time.perf_counter() - te, 4)}
    record["history"].append(row)
    record["best"] = select(record["history"])
    weights = {**s.meta, "model_state": s.model.state_dict(), "epoch": epoch + 1}
    s.scored = scored.state_dict() if s.precise_bn else None
    if record["best"]["epoch"] == epoch + 1:  # best.pt: the state validation scored
        save_checkpoint(s.folder.best, {**weights, "model_state": scored.state_dict(), "val_acc": val_acc})
    # last.pt: the training state to resume from, and (precise BN) the state its epoch was scored with
    save_checkpoint(s.folder.last, {**weights, "optimizer": s.optimizer.state_dict(),
                                    "scheduler": s.scheduler.state_dict(), "history": record["history"],
                                    **({"scored_state": s.scored} if s.precise_bn else {})})
    s.folder.save()
    if s.tb:
        s.tb.epoch(row)
    log.info("epoch %d/%d  train loss %.4f acc %.4f | val loss %.4f acc %.4f | lr %.3g | %.2fs",
             epoch + 1, epochs, row["train_loss"], row["train_acc"], val_loss, val_acc, lr, row["seconds"])


def scored_model(s: Setup, x_train: torch.Tensor) -> torch.nn.Module:
    """What validation and test score: the model itself, or (trainer.precise_bn) a copy whose BatchNorm
    statistics are re-estimated on the epoch's training windows `x_train`."""
    if not s.precise_bn:
        return s.model
    return with_reestimated_bn(s.model, x_train, int(s.cfg.trainer.eval_batch_size))


def validate(model: torch.nn.Module, s: Setup) -> tuple[float, float]:
    """(loss, accuracy) of `model` on the validation windows, noisy as in training."""
    val_loss, val_pred = predict(model, s.data.val(), s.data.y["val"], int(s.cfg.trainer.eval_batch_size), s.amp)
    return val_loss, float((val_pred == s.ws.splits["val"].y).mean())


def test(s: Setup, train_s: float) -> None:
    """Test once, at the end, in eval mode: the best (by validation) and the last weights, then the curves."""
    t_eval = time.perf_counter()
    cfg, ws, record, batch = s.cfg, s.ws, s.record, int(s.cfg.trainer.eval_batch_size)
    scored = s.scored  # precise BN: the state the last epoch was validated with
    if scored is None:  # the model's own; or precise BN re-estimated again on the last epoch's windows
        last_epoch = max(int(cfg.trainer.epochs) - 1, 0)
        scored = (scored_model(s, s.data.train_epoch(last_epoch)) if s.precise_bn else s.model).state_dict()
    last_state = {k: v.clone() for k, v in scored.items()}
    best_state = load_checkpoint(s.folder.best, s.device)["model_state"] if record["best"] else last_state
    record.update(test_parts(s.model, {"last": last_state, "best": best_state}, s.data, cfg, ws, batch, s.amp))
    if "within" in ws.splits:  # a shift protocol: also the later stretch of the training records
        record.update(test_parts(s.model, {"best": best_state}, s.data, cfg, ws, batch, s.amp, split="within"))
    record["timings"] = {"data_s": round(s.t_data, 3), "train_s": round(train_s, 3),
                         "eval_s": round(time.perf_counter() - t_eval, 3)}
    if s.tb:
        s.tb.final(record, cfg, s.model, s.data.fixed("test", cfg.noise.kind, test_snr(cfg.noise))[:batch])
        s.tb.close()
    log.info("test accuracy %.4f (best, epoch %s) | last %.4f | macro-F1 %.4f | %s",
             record["test"]["best"]["acc"], (record["best"] or {}).get("epoch"), record["test"]["last"]["acc"],
             record["test"]["best"]["macro_f1"], s.folder.path)


def _show_bar(cfg: DictConfig) -> bool:
    return sys.stderr.isatty() if cfg.trainer.progress == "auto" else bool(cfg.trainer.progress)


def _progress(steps: range, desc: str, show: bool):
    """The steps, with a progress bar on a terminal."""
    if not show:
        return steps
    from tqdm import tqdm

    return tqdm(steps, desc=desc, leave=False, file=sys.stderr)

