"""drsn-evaluate: score a trained model's weights on any data selection, as its run's test did.

The checkpoint's training config with `data.*`, `noise.*` and `eval.*` overrides names the data;
the test split that `build_windows` gives for it is scored like a run's test phase (the same fixed
test noise, drawn in the same order), then the robustness curve. With no overrides that is the
run's own test split; `data.test_loads=[1]` scores the whole 1 hp records. The result is a folder
with metrics.json (protocol 'evaluate': drsn-report lists it beside training runs) and robustness.csv.
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
from drsn_fd.data.sources import load_records
from drsn_fd.data.windows import WindowSet, build_windows, record_roles, segments
from drsn_fd.errors import ConfigError, DataError
from drsn_fd.evaluate.checkpoint_config import checkpoint_config, fill_data
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
from drsn_fd.models.checkpoint import load_model
from drsn_fd.validate import protocol

OVERRIDABLE = ("data.", "noise.", "eval.")


class MismatchError(DataError):
    """The data selection does not fit the checkpoint: classes, window, rate or normalisation."""


class LeakError(DataError):
    """Test windows overlap samples the checkpoint was trained or validated on."""


def evaluate_config(config: dict, overrides: list[str], where: object = "the checkpoint") -> DictConfig:
    """The checkpoint's training config with `data.*`, `noise.*` and `eval.*` overrides, checked."""
    return checkpoint_config(config, overrides, OVERRIDABLE, where)


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


def _files_of(data: DictConfig) -> tuple:
    """Where a data config reads its files from: the same tuple means the same recordings."""
    where = [None if not data.get(k) else str(Path(str(data[k])).expanduser().resolve()) for k in ("root", "manifest")]
    return (data.source, *where, OmegaConf.to_yaml(data.get("simulated") or {}))


def refuse_leaks(ws: WindowSet, cfg: DictConfig, config: dict, checkpoint) -> None:
    """Refuse test windows that overlap samples the checkpoint trained or validated on."""
    orig = OmegaConf.create(config).data
    fill_data(orig)
    if orig == cfg.data or _files_of(orig) != _files_of(cfg.data):
        return  # the run's own split (its test is apart), or other files
    seen: dict[str, list] = {}
    records = load_records(orig)
    for rec, role in zip(records, record_roles(records, orig), strict=True):
        cuts = segments(len(rec.signal), role, list(orig.split), float(orig.get("train_fraction") or 1.0))
        seen.setdefault(str(Path(rec.file).resolve()), []).extend(v for s, v in cuts.items() if s not in ("test", "within"))  # never trained on
    test = ws.splits["test"]
    bad = [(ws.records[r].file, int(s)) for r, s in zip(test.record, test.start, strict=True)
           if any(s < b and a < s + ws.window for a, b in seen.get(str(Path(ws.records[r].file).resolve()), []))]
    if bad:
        f, s = bad[0]
        raise LeakError(f"{len(bad)} of {len(test.y)} test windows overlap samples {checkpoint} was trained or "
                        f"validated on (first: {f}, samples {s}-{s + ws.window}); test on records or "
                        "stretches it did not see (e.g. data.test_loads of loads it was not trained on)")


def rescore(checkpoint: str | Path, overrides: list[str] | None = None, out: str | Path | None = None,
            device: str | torch.device = "cpu") -> dict:
    """Score the checkpoint's weights on the test split of the data selection; write and return the record."""
    t0 = time.perf_counter()
    device, overrides = torch.device(device), list(overrides or [])
    model, ck = load_model(checkpoint, device)
    cfg = evaluate_config(ck["config"], overrides, checkpoint)
    run_dir = run_dir_of(checkpoint)
    out = Path(out) if out else run_dir / "evaluate" / short_name(overrides, checkpoint)
    if (out / METRICS).exists() and _protocol_in(out / METRICS) != "evaluate":
        raise ConfigError(f"out={out} holds the metrics.json of a run, not of an evaluation; choose another folder")
    ws = build_windows(cfg.data)
    fit_checkpoint(ws, cfg, ck, checkpoint)
    refuse_leaks(ws, cfg, ck["config"], checkpoint)
    data = NoisyWindows(ws, cfg, device)
    t_data = time.perf_counter() - t0
    scored = test_parts(model, {"best": ck["model_state"]}, data, cfg, ws, int(cfg.trainer.eval_batch_size),
                        bf16(cfg.trainer, device))
    trained = OmegaConf.create(ck["config"])
    record = {
        "status": "completed", "protocol": "evaluate", "train_protocol": protocol(trained),
        "model": ck["model"], "seed": int(cfg.seed), "params": ck.get("params"), "device": str(device),
        "checkpoint": str(Path(checkpoint).resolve()), "checkpoint_epoch": ck.get("epoch"),
        "run_dir": str(run_dir), "evaluation_dir": str(out), "overrides": overrides,
        "data": data_summary(ws, cfg.data, ["test"]), "noise": noise_summary(cfg.noise, trained.noise),
        **scored, "config": OmegaConf.to_container(cfg, resolve=True),
        "timings": {"data_s": round(t_data, 3), "eval_s": round(time.perf_counter() - t0 - t_data, 3),
                    "total_s": round(time.perf_counter() - t0, 3)},
    }
    write_record(out, record)
    return record


def _protocol_in(path: Path) -> str | None:
    try:
        return read_record(path).get("protocol")
    except RecordError:
        return None
