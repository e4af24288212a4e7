"""One training run: windows on the device, noise and normalisation in the step, test once.

`run(cfg, output_dir) -> dict` is the whole job; the CLI is a thin wrapper around it.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import time
import traceback
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from drsn_fd.data.noise import add_noise, derived_seed, generator
from drsn_fd.data.normalize import normalize
from drsn_fd.data.windows import WindowSet, build_windows
from drsn_fd.errors import ConfigError, DrsnError
from drsn_fd.evaluate.metrics import classification_metrics
from drsn_fd.evaluate.robustness import robustness_curve
from drsn_fd.io import write_json, write_text
from drsn_fd.train.checkpoint import load_checkpoint, save_checkpoint
from drsn_fd.train.optim import build_optimizer, build_scheduler
from drsn_fd.train.resume import check_resumable
from drsn_fd.train.tblog import TBLogger
from drsn_fd.validate import check_config, protocol

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """A stop signal arrived; last.pt holds the state after the last finished step."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


def improves(row: dict, best: dict) -> bool:
    """Model selection on validation only: higher accuracy wins, a tie goes to the lower loss.

    A small validation split saturates (often 100 %) long before training ends; without the
    tie-break the first saturated epoch, still under-trained, would be kept.
    """
    return (row["val_acc"], -row["val_loss"]) > (best["val_acc"], -best.get("val_loss", math.inf))


def pick_device(name: str) -> torch.device:
    """auto: cuda, else mps, else cpu."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device={name!r} is unknown; allowed: auto, cpu, cuda, cuda:N, mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} but CUDA is not available here")
    return device


def _flag(value, device: torch.device, deterministic: bool = False) -> bool:
    """auto means on for CUDA only, and off with trainer.deterministic."""
    return device.type == "cuda" and not deterministic if value == "auto" else bool(value)


def set_deterministic(on: bool) -> None:
    """trainer.deterministic: deterministic kernels only (an op without one raises), fixed cuDNN choice."""
    if on:  # cuBLAS needs a fixed workspace to be deterministic; read when cuBLAS starts
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    if on:
        torch.backends.cudnn.benchmark = False


class NoisyWindows:
    """The windows of a run on its device, and their noisy, normalised versions.

    Train noise is drawn afresh each epoch on the device (or once, with fixed_train);
    val and test noise come from a CPU generator seeded by (seed, split, kind, snr), so
    every model and every device sees the very same noisy windows.
    """

    def __init__(self, ws: WindowSet, cfg: DictConfig, device: torch.device):
        self.cfg, self.device, self.seed = cfg, device, int(cfg.seed)
        self.kind = cfg.noise.kind
        self.norm = cfg.data.normalize
        self.cpu = {s: torch.from_numpy(sp.x).unsqueeze(1) for s, sp in ws.splits.items()}
        self.y = {s: torch.from_numpy(sp.y).to(device) for s, sp in ws.splits.items()}
        self.x_train = self.cpu["train"].to(device)
        self._fixed: torch.Tensor | None = None
        self._cache: dict = {}

    def _noisy(self, x: torch.Tensor, snr, kind: str, gen: torch.Generator) -> torch.Tensor:
        if kind == "none" or snr is None:
            return x
        if isinstance(snr, (list, tuple)):  # mixed protocol: one SNR per window
            lo, hi = snr
            snr = torch.empty(x.shape[0], 1, 1, device=x.device).uniform_(lo, hi, generator=gen)
        return add_noise(x, snr, kind, gen)

    def train_epoch(self, epoch: int) -> torch.Tensor:
        """Normalised noisy training windows for `epoch`, on the device."""
        snr = _train_snr(self.cfg)
        if self.cfg.noise.fixed_train:
            if self._fixed is None:
                gen = generator(derived_seed(self.seed, "train", self.kind, snr, "fixed"), self.device)
                self._fixed = normalize(self._noisy(self.x_train, snr, self.kind, gen), self.norm)
            return self._fixed
        gen = generator(derived_seed(self.seed, "train", self.kind, snr, epoch), self.device)
        return normalize(self._noisy(self.x_train, snr, self.kind, gen), self.norm)

    def fixed(self, split: str, kind: str, snr) -> torch.Tensor:
        """Normalised noisy windows of val or test at (kind, snr), the same for every model."""
        key = (split, kind, tuple(snr) if isinstance(snr, list) else snr)
        if key not in self._cache:
            gen = generator(derived_seed(self.seed, split, kind, key[2]), "cpu")
            noisy = self._noisy(self.cpu[split], snr, kind, gen)
            self._cache[key] = normalize(noisy.to(self.device), self.norm)
        return self._cache[key]


def _train_snr(cfg: DictConfig):
    ts = cfg.noise.train_snr
    return OmegaConf.to_container(ts) if OmegaConf.is_config(ts) else ts


@torch.inference_mode()
def predict(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, amp: bool) -> tuple[float, np.ndarray]:
    """(mean loss, predicted classes) over x in eval mode, with one host sync at the end."""
    model.eval()
    loss = torch.zeros((), device=x.device)
    preds = []
    ctx = torch.autocast("cuda", torch.bfloat16) if amp else nullcontext()
    for i in range(0, len(x), batch):
        with ctx:
            logits = model(x[i:i + batch]).float()
        loss += F.cross_entropy(logits, y[i:i + batch], reduction="sum")
        preds.append(logits.argmax(1))
    return loss.item() / max(len(x), 1), torch.cat(preds).cpu().numpy()


def _steps(n: int, batch: int) -> int:
    steps = math.ceil(n / batch)
    return steps - 1 if n % batch == 1 else steps  # BatchNorm needs 2 windows in a batch


# SIGINT (Ctrl-C), SIGTERM (kill, scancel, a SLURM time limit or preemption) and SIGUSR2 (the
# warning that submitit has SLURM send hydra.launcher.signal_delay_s before a job's time limit).
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGUSR2") if hasattr(signal, n))


class _Signals:
    """Turn the stop signals into a flag the loop checks after each step."""

    def __init__(self):
        self.signum: int | None = None
        self._old: dict = {}

    def __enter__(self):
        if sys.modules["threading"].current_thread() is sys.modules["threading"].main_thread():
            for s in STOP_SIGNALS:
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signum = signum

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)


def run(cfg: DictConfig, output_dir: str | Path) -> dict:
    """Train, select on validation, test once; write metrics.json, checkpoints and tb/."""
    t0 = time.perf_counter()
    out = Path(output_dir)
    check_config(cfg)
    metrics_path = out / "metrics.json"
    resume = bool(cfg.trainer.resume)
    previous = _read_status(metrics_path)
    if previous == "completed":
        if resume:
            log.info("%s already holds a completed run; nothing to resume", out)
            return _read_json(metrics_path)
        raise ConfigError(f"{out} already holds a completed run (metrics.json); choose another "
                          "hydra.run.dir, or pass trainer.resume=true to keep it")
    last = out / "checkpoints" / "last.pt"
    if previous and not resume and last.exists():
        raise ConfigError(f"{out} holds an unfinished run ({previous}); pass trainer.resume=true to "
                          "continue it, or choose another hydra.run.dir")
    if resume and last.exists():  # refuse a corrupt or foreign last.pt before touching the folder
        check_resumable(load_checkpoint(last), last, cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / ".hydra").mkdir(exist_ok=True)
    write_text(out / ".hydra" / "config.yaml", OmegaConf.to_yaml(cfg))

    # Resuming keeps what the unfinished run recorded (its history) until training goes on, so a
    # resume that fails to start (bad data, corrupt last.pt) does not wipe it.
    kept = {k: v for k, v in _read_json(metrics_path).items() if k not in ("error", "traceback")} \
        if previous and resume else {}
    record: dict = {**kept, "status": "running", "run_dir": str(out), "protocol": protocol(cfg),
                    "model": cfg.model.name, "seed": int(cfg.seed),
                    "config": OmegaConf.to_container(cfg, resolve=True)}
    write_json(metrics_path, record)
    try:
        with _Signals() as sig:
            record = _run(cfg, out, record, sig, t0)
        record["status"] = "completed"
        return record
    except Interrupted as e:
        record.update(status="interrupted", error=str(e))
        raise
    except DrsnError as e:
        record.update(status="failed", error=str(e))
        raise
    except BaseException as e:
        record.update(status="failed", error=f"{type(e).__name__}: {e}",
                      traceback=traceback.format_exc(limit=8))
        raise
    finally:
        record.setdefault("timings", {})["total_s"] = round(time.perf_counter() - t0, 3)
        write_json(metrics_path, record)


def _run(cfg: DictConfig, out: Path, record: dict, sig: _Signals, t0: float) -> dict:
    deterministic = bool(cfg.trainer.get("deterministic", False))
    set_deterministic(deterministic)
    torch.manual_seed(int(cfg.seed))
    np.random.seed(int(cfg.seed) % 2**32)
    if cfg.trainer.threads:
        torch.set_num_threads(int(cfg.trainer.threads))
    device = pick_device(str(cfg.device))
    amp = _flag(cfg.trainer.amp, device, deterministic) and device.type == "cuda"

    ws = build_windows(cfg.data)
    data = NoisyWindows(ws, cfg, device)
    n_train = len(ws.splits["train"].y)
    t_data = time.perf_counter() - t0

    model = instantiate(cfg.model, num_classes=len(ws.classes)).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    step_model = torch.compile(model) if _flag(cfg.trainer.compile, device, deterministic) else model
    epochs, batch = int(cfg.trainer.epochs), int(cfg.trainer.batch_size)
    optimizer = build_optimizer(cfg.optim, model.parameters())
    scheduler = build_scheduler(cfg.scheduler, optimizer, epochs)
    log.info("%s: %d parameters | %s | %d classes | windows train/val/test %d/%d/%d | %s | device %s",
             cfg.model.name, n_params, cfg.data.name, len(ws.classes), n_train,
             len(ws.splits["val"].y), len(ws.splits["test"].y), record["protocol"], device)
    record.update(
        params=n_params, device=str(device),
        data={"name": cfg.data.name, "source": cfg.data.source, "classes": ws.classes,
              "fs": ws.fs, "window": ws.window, "split": list(cfg.data.split),
              "windows": {s: len(sp.y) for s, sp in ws.splits.items()},
              "records": [r.summary() for r in ws.records]},
        noise={"kind": cfg.noise.kind, "snr": cfg.noise.snr, "train_snr": _train_snr(cfg),
               "fixed_train": bool(cfg.noise.fixed_train)},
        history=[], best={"epoch": None, "val_acc": -1.0},
    )
    meta = {"model": cfg.model.name, "model_cfg": OmegaConf.to_container(cfg.model, resolve=True),
            "classes": ws.classes, "fs": ws.fs, "window": ws.window, "normalize": cfg.data.normalize,
            "config": record["config"], "params": n_params}
    ckpt_dir = out / "checkpoints"
    start_epoch, start_step, sums = 0, 0, None
    last_path = ckpt_dir / "last.pt"
    if cfg.trainer.resume and last_path.exists():
        ck = load_checkpoint(last_path, device)
        model.load_state_dict(ck["model_state"])
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        start_epoch, start_step, sums = ck["epoch"], ck["step"], ck["sums"]
        record.update(history=ck["history"], best=ck["best"])
        log.info("resuming from %s at epoch %d, step %d", last_path, start_epoch + 1, start_step)
    elif cfg.trainer.resume:
        log.info("trainer.resume=true but %s does not exist: starting afresh", last_path)

    tb = TBLogger(out / "tb", cfg, purge_step=start_epoch) if cfg.logger.enabled else None
    val_x = data.fixed("val", cfg.noise.kind if _train_snr(cfg) is not None else "none", _train_snr(cfg))
    ctx = torch.autocast("cuda", torch.bfloat16) if amp else nullcontext()
    steps = _steps(n_train, batch)
    show_bar = sys.stderr.isatty() if cfg.trainer.progress == "auto" else bool(cfg.trainer.progress)

    def checkpoint(epoch: int, step: int, sums) -> None:
        save_checkpoint(last_path, {**meta, "model_state": model.state_dict(), "optimizer": optimizer.state_dict(),
                                    "scheduler": scheduler.state_dict(), "epoch": epoch, "step": step,
                                    "sums": sums, "history": record["history"], "best": record["best"]})

    t_train = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        te = time.perf_counter()
        x_epoch = data.train_epoch(epoch)
        perm = torch.randperm(n_train, generator=generator(derived_seed(cfg.seed, "perm", epoch), device), device=device)
        loss_sum = torch.tensor(float(sums[0]) if sums else 0.0, device=device)
        correct = torch.tensor(int(sums[1]) if sums else 0, device=device)
        sums = None
        step_model.train()
        bar = _bar(steps, epoch, epochs, show_bar)
        for step in range(start_step, steps):
            idx = perm[step * batch:(step + 1) * batch]
            xb, yb = x_epoch[idx], data.y["train"][idx]
            with ctx:
                logits = step_model(xb)
                loss = F.cross_entropy(logits.float(), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(idx)
            correct += (logits.argmax(1) == yb).sum()
            if bar is not None:
                bar.update(1)
            if sig.signum is not None:
                checkpoint(epoch, step + 1, (loss_sum.item(), correct.item()))
                raise Interrupted(sig.signum)
        if bar is not None:
            bar.close()
        start_step = 0
        seen = min(steps * batch, n_train)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        val_loss, val_pred = predict(model, val_x, data.y["val"], int(cfg.trainer.eval_batch_size), amp)
        val_acc = float((val_pred == ws.splits["val"].y).mean())
        row = {"epoch": epoch + 1, "train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen,
               "val_loss": val_loss, "val_acc": val_acc, "lr": lr, "seconds": round(time.perf_counter() - te, 4)}
        record["history"].append(row)
        if improves(row, record["best"]):
            record["best"] = {"epoch": epoch + 1, "val_acc": val_acc, "val_loss": val_loss}
            save_checkpoint(ckpt_dir / "best.pt", {**meta, "model_state": model.state_dict(), "epoch": epoch + 1,
                                                   "val_acc": val_acc})
        checkpoint(epoch + 1, 0, None)
        if tb:
            tb.epoch(row, model)
        log.info("epoch %d/%d  train loss %.4f acc %.4f | val loss %.4f acc %.4f | lr %.3g | %.2fs",
                 epoch + 1, epochs, row["train_loss"], row["train_acc"], val_loss, val_acc, lr, row["seconds"])
        write_json(out / "metrics.json", record)
        if sig.signum is not None:
            raise Interrupted(sig.signum)
    t_train = time.perf_counter() - t_train

    # The test split is read once, at the end, in eval mode: best (by val) and last weights.
    t_eval = time.perf_counter()
    test_kind = cfg.noise.kind
    test_x = data.fixed("test", test_kind, cfg.noise.snr if test_kind != "none" else None)
    eval_batch = int(cfg.trainer.eval_batch_size)
    results = {}
    last_state = {k: v.clone() for k, v in model.state_dict().items()}
    if (ckpt_dir / "best.pt").exists():
        best_state = load_checkpoint(ckpt_dir / "best.pt", device)["model_state"]
    else:  # epochs=0: nothing was selected
        best_state = last_state
    for which, state in (("last", last_state), ("best", best_state)):
        model.load_state_dict(state)
        loss, pred = predict(model, test_x, data.y["test"], eval_batch, amp)
        results[which] = {**classification_metrics(ws.splits["test"].y, pred, ws.classes), "loss": loss}
    record["test"] = results
    record["robustness"] = robustness_curve(model, data, cfg, ws, eval_batch, amp)
    t_eval = time.perf_counter() - t_eval
    record["timings"] = {"data_s": round(t_data, 3), "train_s": round(t_train, 3), "eval_s": round(t_eval, 3)}
    _write_curve_csv(out / "robustness.csv", record["robustness"])
    if tb:
        tb.final(record, model, data, cfg, eval_batch)
        tb.close()
    log.info("test accuracy %.4f (best, epoch %s) | last %.4f | macro-F1 %.4f | %s",
             results["best"]["acc"], record["best"]["epoch"], results["last"]["acc"],
             results["best"]["macro_f1"], out)
    return record


def _bar(steps: int, epoch: int, epochs: int, show: bool):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=steps, desc=f"epoch {epoch + 1}/{epochs}", leave=False, file=sys.stderr)


def _write_curve_csv(path: Path, curve: list[dict]) -> None:
    import pandas as pd

    write_text(path, pd.DataFrame(curve).to_csv(index=False))


def _read_json(path: Path) -> dict:
    import json

    return json.loads(path.read_text())


def _read_status(path: Path) -> str | None:
    try:
        return _read_json(path).get("status")
    except (OSError, ValueError):
        return None
