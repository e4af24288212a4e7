"""One training run: set up, then for each epoch train, validate, select, checkpoint; test once.

`run(cfg, output_dir) -> dict` is the whole job; the CLI is a thin wrapper around it.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from drsn_fd.data.noise import derived_seed, generator
from drsn_fd.data.pipeline import NoisyWindows, test_snr, train_snr
from drsn_fd.data.windows import build_windows
from drsn_fd.evaluate.predict import predict, test_weights
from drsn_fd.evaluate.robustness import robustness_curve
from drsn_fd.evaluate.tensorboard import TBLogger
from drsn_fd.io import write_text
from drsn_fd.models import model_from_config
from drsn_fd.models.checkpoint import load_checkpoint, save_checkpoint
from drsn_fd.train.device import (
    pick_device,
    seed_everything,
    set_deterministic,
    set_threads,
    switch,
)
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
                              "config": OmegaConf.to_container(cfg, resolve=True)})
    if done is not None:
        return done
    with folder.recording(t0), StopSignals() as stop:
        train(cfg, folder, stop, t0)
    return folder.record


def train(cfg: DictConfig, folder: RunFolder, stop: StopSignals, t0: float) -> None:
    """The loop; it fills `folder.record` and saves it after every epoch."""
    record = folder.record
    # ---- set up: device, data, model, optimiser
    deterministic = bool(cfg.trainer.deterministic)
    set_deterministic(deterministic)
    seed_everything(int(cfg.seed))
    threads = set_threads(cfg.trainer.threads)
    device = pick_device(str(cfg.device))
    amp = switch(cfg.trainer.amp, device, deterministic) and device.type == "cuda"
    autocast = torch.autocast("cuda", torch.bfloat16) if amp else nullcontext()

    ws = build_windows(cfg.data)
    data = NoisyWindows(ws, cfg, device)
    n_train, y_train = len(ws.splits["train"].y), data.y["train"]
    t_data = time.perf_counter() - t0

    model = model_from_config(OmegaConf.to_container(cfg.model, resolve=True), len(ws.classes)).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    step_model = torch.compile(model) if switch(cfg.trainer.compile, device, deterministic) else model
    epochs, batch, eval_batch = int(cfg.trainer.epochs), int(cfg.trainer.batch_size), int(cfg.trainer.eval_batch_size)
    optimizer = instantiate(cfg.optim)(model.parameters())
    scheduler = instantiate(cfg.scheduler)(optimizer, epochs=epochs)
    log.info("%s: %d parameters | %s, %s | %d classes | windows train/val/test %d/%d/%d | %s | device %s",
             cfg.model.name, n_params, cfg.data.name, ws.protocol, len(ws.classes), n_train,
             len(ws.splits["val"].y), len(ws.splits["test"].y), record["protocol"], device)
    record.update(
        params=n_params, device=str(device), threads=threads,
        split_protocol=ws.protocol,
        data={"name": cfg.data.name, "source": cfg.data.source, "split_protocol": ws.protocol, "classes": ws.classes,
              "fs": ws.fs, "window": ws.window, "split": list(cfg.data.split),
              "train_fraction": float(cfg.data.train_fraction),
              "windows": {s: len(sp.y) for s, sp in ws.splits.items()},
              "records": [r.summary() for r in ws.records]},
        noise={"kind": cfg.noise.kind, "snr": cfg.noise.snr, "train_snr": train_snr(cfg.noise),
               "fixed_train": bool(cfg.noise.fixed_train)},
        history=[], best=None,
    )
    meta = {"model": cfg.model.name, "model_cfg": OmegaConf.to_container(cfg.model, resolve=True),
            "classes": ws.classes, "fs": ws.fs, "window": ws.window, "normalize": cfg.data.normalize,
            "config": record["config"], "params": n_params}

    start = 0
    if cfg.trainer.resume and (state := folder.resume_state(device)) is not None:
        model.load_state_dict(state["model_state"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, record["history"] = state["epoch"], state["history"]
        record["best"] = select(record["history"])
        log.info("resuming from %s after epoch %d", folder.last, start)
    tb = TBLogger(folder.path / "tb", bool(cfg.logger.histograms), purge_step=start) if cfg.logger.enabled else None
    val_x = data.val()
    steps = steps_per_epoch(n_train, batch)
    show_bar = sys.stderr.isatty() if cfg.trainer.progress == "auto" else bool(cfg.trainer.progress)

    # ---- train: each epoch fresh noise, then validate, select, checkpoint
    t_train = time.perf_counter()
    for epoch in range(start, epochs):
        te = time.perf_counter()
        x_train = data.train_epoch(epoch)
        perm = torch.randperm(n_train, generator=generator(derived_seed(cfg.seed, "perm", epoch), device), device=device)
        loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long)
        step_model.train()
        for step in _progress(range(steps), f"epoch {epoch + 1}/{epochs}", show_bar):
            idx = perm[step * batch:(step + 1) * batch]
            xb, yb = x_train[idx], y_train[idx]
            with autocast:
                logits = step_model(xb)
                loss = F.cross_entropy(logits.float(), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(idx)
            correct += (logits.argmax(1) == yb).sum()
            stop.check()  # a stop signal ends the run here; last.pt holds the last finished epoch
        seen = min(steps * batch, n_train)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()

        val_loss, val_pred = predict(model, val_x, data.y["val"], eval_batch, amp)
        row = {"epoch": epoch + 1, "train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen,
               "val_loss": val_loss, "val_acc": float((val_pred == ws.splits["val"].y).mean()), "lr": lr,
               "seconds": round(time.perf_counter() - te, 4)}
        record["history"].append(row)
        record["best"] = select(record["history"])
        if record["best"]["epoch"] == epoch + 1:
            save_checkpoint(folder.best, {**meta, "model_state": model.state_dict(), "epoch": epoch + 1,
                                          "val_acc": row["val_acc"]})
        save_checkpoint(folder.last, {**meta, "model_state": model.state_dict(), "optimizer": optimizer.state_dict(),
                                      "scheduler": scheduler.state_dict(), "epoch": epoch + 1,
                                      "history": record["history"]})
        folder.save()
        if tb:
            tb.epoch(row)
        log.info("epoch %d/%d  train loss %.4f acc %.4f | val loss %.4f acc %.4f | lr %.3g | %.2fs",
                 epoch + 1, epochs, row["train_loss"], row["train_acc"], val_loss, row["val_acc"], lr, row["seconds"])
        stop.check()
    t_train = time.perf_counter() - t_train

    # ---- test once, at the end, in eval mode: the best (by validation) and the last weights
    t_eval = time.perf_counter()
    last_state = {k: v.clone() for k, v in model.state_dict().items()}
    best_state = load_checkpoint(folder.best, device)["model_state"] if record["best"] else last_state
    test_x = data.fixed("test", cfg.noise.kind, test_snr(cfg.noise))
    y_test = ws.splits["test"].y
    record["test"] = test_weights(model, {"last": last_state, "best": best_state}, test_x, data.y["test"],
                                  y_test, ws.classes, eval_batch, amp)
    model.load_state_dict(best_state)
    record["robustness"] = robustness_curve(model, data, cfg, y_test, eval_batch, amp)
    if "within" in ws.splits:  # a shift protocol: also the later stretch of the training records
        y_within = ws.splits["within"].y
        record["test_within"] = test_weights(model, {"best": best_state}, data.fixed("within", cfg.noise.kind, test_snr(cfg.noise)),
                                             data.y["within"], y_within, ws.classes, eval_batch, amp)
        record["robustness_within"] = robustness_curve(model, data, cfg, y_within, eval_batch, amp, split="within")
    record["timings"] = {"data_s": round(t_data, 3), "train_s": round(t_train, 3),
                         "eval_s": round(time.perf_counter() - t_eval, 3)}
    _write_curve_csv(folder.path / "robustness.csv", record["robustness"])
    if tb:
        tb.final(record, cfg, model, test_x[:eval_batch])
        tb.close()
    log.info("test accuracy %.4f (best, epoch %s) | last %.4f | macro-F1 %.4f | %s",
             record["test"]["best"]["acc"], (record["best"] or {}).get("epoch"), record["test"]["last"]["acc"],
             record["test"]["best"]["macro_f1"], folder.path)


def _progress(steps: range, desc: str, show: bool):
    """The steps, with a progress bar on a terminal."""
    if not show:
        return steps
    from tqdm import tqdm

    return tqdm(steps, desc=desc, leave=False, file=sys.stderr)


def _write_curve_csv(path: Path, curve: list[dict]) -> None:
    import pandas as pd

    write_text(path, pd.DataFrame(curve).to_csv(index=False))


