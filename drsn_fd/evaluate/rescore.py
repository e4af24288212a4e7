"""drsn-evaluate: score a trained model's weights on any data selection, as its run's test did.

The checkpoint's training config with `data=NAME` (another data config, as in drsn-train: the keys
of configs/data/NAME.yaml replace the checkpoint's, but fs and window) and `data.*`, `noise.*` and
`eval.*` overrides names the data. Which windows are scored is `target.py`'s rule: with no
overrides the run's own test split; on files the checkpoint trained on, the test split of the
selection (`data.test_loads=[1]`: the whole 1 hp records), refused where it overlaps what the
checkpoint saw; on a folder that shares no file with its training data (`data.root=NEW`), every
window of every record it selects. They are scored like a run's test phase (the same fixed test
noise, drawn in the same order), then the robustness curve. `adapt=bn` adds AdaBN in its
transductive and inductive forms, beside no adaptation, on the same windows (`adapt.py`).
The result is a folder with metrics.json (protocol 'evaluate': drsn-report lists it beside
training runs, and pairs adapt=bn with none) and robustness.csv. The checkpoint is only read.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from drsn_fd.data.pipeline import NoisyWindows
from drsn_fd.data.sources.files import file_digests
from drsn_fd.data.windows import WindowSet
from drsn_fd.errors import ConfigError, DataError
from drsn_fd.evaluate.adapt import adapt_part, check_adapt
from drsn_fd.evaluate.checkpoint_config import checkpoint_config, stored_input_here, with_data
from drsn_fd.evaluate.device import bf16
from drsn_fd.evaluate.inspect import run_dir_of
from drsn_fd.evaluate.record import (
    METRICS,
    RecordError,
    data_summary,
    noise_summary,
    read_record,
    test_parts,
    write_record,
)
from drsn_fd.evaluate.target import LeakError, refuse_leaks, target_windows, trained_digests
from drsn_fd.models.checkpoint import load_model
from drsn_fd.validate import protocol

__all__ = ["LeakError", "MismatchError", "evaluate_config", "fit_checkpoint", "rescore", "short_name"]

OVERRIDABLE = ("data.", "noise.", "eval.")


class MismatchError(DataError):
    """The data selection does not fit the checkpoint: classes, window, rate or normalisation."""


def evaluate_config(config: dict, overrides: list[str], where: object = "the checkpoint",
                    data: str | None = None) -> DictConfig:
    """The checkpoint's training config with `data=NAME` (if given), then `data.*`, `noise.*` and
    `eval.*` overrides, checked."""
    cfg = checkpoint_config(with_data(config, data, where) if data is not None else config, overrides,
                            OVERRIDABLE, where)
    if cfg.data.source == "simulated" and (root := next((o for o in overrides if o.startswith("data.root=")), None)):
        raise ConfigError(f"{root!r}: data=simulated reads no folder (it writes its own); read CWRU-style .mat "
                          "files there with data=cwru, HIT-SM files with data=hit")
    stored_input_here(cfg, config, overrides, where)
    return cfg


def short_name(overrides: list[str], checkpoint: str | Path = "best.pt") -> str:
    """The evaluation folder's name: the overrides ('test_loads=1'), or 'same-data'."""
    parts = []
    for item in overrides:
        key, _, value = item.partition("=")
        parts.append(f"{key.removeprefix('data.')}={Path(value).name if '/' in value else value}")
    name = re.sub(r"[^A-Za-z0-9._=,+-]+", "", "_".join(parts)) or "same-data"
    if len(name) > 80:
        name = f"{name[:70]}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    stem = Path(checkpoint).stem
    return name if stem == "best" else f"{stem}-{name}"


def fit_checkpoint(ws: WindowSet, cfg: DictConfig, ck: dict, checkpoint) -> None:
    """Refuse data the checkpoint cannot score; put the labels in the checkpoint's class order."""
    classes = [str(c) for c in ck["classes"]]
    if sorted(ws.classes) != sorted(classes):
        raise MismatchError(f"the data selection gives classes {ws.classes}, but {checkpoint} was trained on "
                            f"{classes}: its model scores only those")
    for what, got, want in (("window", ws.window, int(ck["window"])), ("fs", ws.fs, int(ck["fs"])),
                            ("normalize", cfg.data.normalize, ck["normalize"])):
        if got != want:
            raise MismatchError(f"data.{what}={got}, but {checkpoint} was trained with data.{what}={want}")
    if ws.classes != classes:  # the same classes in another order: relabel
        order = np.array([classes.index(c) for c in ws.classes])
        for sp in ws.splits.values():
            sp.y = order[sp.y]
        ws.classes = classes


def rescore(checkpoint: str | Path, overrides: list[str] | None = None, out: str | Path | None = None,
            device: str | torch.device = "cpu", data: str | None = None, adapt: str = "none") -> dict:
    """Score the checkpoint's weights on the test windows of the data selection (`target.py`), with
    AdaBN beside no adaptation when adapt='bn'; write and return the record."""
    t0 = time.perf_counter()
    adapt = check_adapt(adapt)
    device, overrides = torch.device(device), list(overrides or [])
    model, ck = load_model(checkpoint, device)
    cfg = evaluate_config(ck["config"], overrides, checkpoint, data)
    given = [*([f"data={data}"] if data is not None else []), *overrides]
    run_dir = run_dir_of(checkpoint)
    name = short_name([*given, *([f"adapt={adapt}"] if adapt != "none" else [])], checkpoint)
    out = Path(out) if out else run_dir / "evaluate" / name
    if (out / METRICS).exists() and _protocol_in(out / METRICS) != "evaluate":
        raise ConfigError(f"out={out} holds the metrics.json of a run, not of an evaluation; choose another folder")
    ws, training = target_windows(cfg, ck["config"], ck.get("data_files"))
    fit_checkpoint(ws, cfg, ck, checkpoint)
    refuse_leaks(ws, training, checkpoint)
    windows = NoisyWindows(ws, cfg, device)
    t_data = time.perf_counter() - t0
    batch, amp = int(cfg.trainer.eval_batch_size), bf16(cfg.trainer, device)
    scored = test_parts(model, {"best": ck["model_state"]}, windows, cfg, ws, batch, amp)
    if adapt == "bn":
        scored["adapt"] = adapt_part(model, windows, cfg, ws, batch, amp)
    trained = OmegaConf.create(ck["config"])
    record = {
        "status": "completed", "protocol": "evaluate", "train_protocol": protocol(trained),
        "model": ck["model"], "seed": int(cfg.seed), "params": ck.get("params"), "device": str(device),
        "checkpoint": str(Path(checkpoint).resolve()), "checkpoint_epoch": ck.get("epoch"),
        "run_dir": str(run_dir), "evaluation_dir": str(out), "overrides": given,
        "data": {**data_summary(ws, cfg.data, ["test"]), "files": files_read(ws, ck.get("data_files"))},
        "noise": noise_summary(cfg.noise, trained.noise),
        **scored, "config": OmegaConf.to_container(cfg, resolve=True),
        "timings": {"data_s": round(t_data, 3), "eval_s": round(time.perf_counter() - t0 - t_data, 3),
                    "total_s": round(time.perf_counter() - t0, 3)},
    }
    write_record(out, record)
    return record


def files_read(ws: WindowSet, stored: list[dict] | None) -> list[dict]:
    """The files the evaluation scored: path, sha256 (file and signal), whether it is the published file
    (None: the catalog knows no sha256), and whether the checkpoint trained on it (None: it stored no sha256)."""
    used = sorted({int(i) for i in ws.splits["test"].record})
    seen = trained_digests(stored or [])[0]
    return [{k: v for k, v in d.items() if k != "role"} | {"trained_on": d["sha256"] in seen if stored else None}
            for d in file_digests([ws.records[i] for i in used])]


def _protocol_in(path: Path) -> str | None:
    try:
        return read_record(path).get("protocol")
    except RecordError:
        return None
