"""The record of a run or an evaluation: the schema of `metrics.json`, its writers and its reader.

A training run (`train/loop.py`) and an evaluation (`rescore.py`) write the same parts through
this module; `collect.read_run` reads them back through `read_record` and `missing`. Each fact
is stored once. The keys (T: training runs only, E: evaluations only):

    status            running | completed | interrupted | failed; `error` (and `traceback`
                      for an error that is not a DrsnError) when not completed
    protocol          the noise protocol: matched | clean-to-noisy | mixed | clean; 'evaluate' (E)
    train_protocol    E: the noise protocol the checkpoint was trained under
    model, seed       the registry name, the run's seed
    seeds (T)         {init, order, train_noise}: the seed each part of training drew from
                      (`seeds.<part>`, else `seed`: data/seeds.py)
    condition (T)     {experiment, overrides}: the experiment config the Hydra job composed
                      (experiment=NAME, else null) and the job's overrides {key: value} as given,
                      those that name its sweep folder (seed, trainer.resume, device, threads ...
                      left out: hydra.job.config.override_dirname.exclude_keys); {null, {}} outside
                      Hydra. Runs of one condition share it whatever their folders are called
    precise_bn (T)    trainer.precise_bn: validation and test scored a copy of the model whose
                      BatchNorm statistics were re-estimated on the epoch's training windows
    params, device    the parameter count, where it computed; threads (T): torch's thread count
    bf16, compiled (T) whether training ran under bf16 autocast and torch.compile (trainer.amp and
                      trainer.compile resolved: auto turns both on for CUDA)
    run_dir           the run folder; E: checkpoint, checkpoint_epoch, evaluation_dir, overrides
    config            the composed config, resolved
    data              name, source, split_protocol (within-record, cross-load, -speed, -size, -rig,
                      grouped: data/domains.py; new data: evaluate/target.py), classes, fs, window, split, windows {split: count},
                      records [each record's summary]; train_fraction (T). An evaluation counts
                      only its test split and lists only the records it draws on, and gives the
                      files it read (E): [{file, sha256, signal_sha256, published, trained_on}]
                      (published: the catalog's sha256 matched, null where it knows none;
                      trained_on: the checkpoint trained on that file, null for a checkpoint
                      that stored no sha256 of its data)
    noise             kind, snr (of the test split), train_snr, fixed_train; E: train_kind, the
                      checkpoint's (train_snr and fixed_train are the checkpoint's too)
    history (T)       [{epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds}]; train_* are
                      the running means over the epoch's steps (train mode), val_* in eval mode
    best (T)          {epoch, val_acc, val_loss}: the epoch the selection rule kept, or null
                      (convergence: best.epoch against config.trainer.epochs, history[-1].train_acc
                      and train_loss, best.val_acc, test.best.acc and test.last.acc, threads, device)
    test              {weights: classification metrics and loss}: best (and last, T)
    robustness        [{kind, snr, acc, macro_f1}]: the curve of the best weights; also robustness.csv
    test_within, robustness_within (T)   the same for the later stretch of the training records
                      under a shift protocol
    adapt (E)         with adapt=bn: the three forms (none, bn_transductive, bn_inductive) scored on
                      the same windows (the second half of each record's), bn_transductive on all,
                      and each record's adaptation and scored windows (evaluate/adapt.py)
    timings           data_s, eval_s, total_s; train_s and cpu_s (T: the process's CPU time, all
                      threads); a resumed run's timings are those of the invocation that finished it
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch
from omegaconf import DictConfig

from drsn_fd.data.pipeline import NoisyWindows, test_snr, train_snr
from drsn_fd.data.windows import WindowSet
from drsn_fd.errors import DataError
from drsn_fd.evaluate.predict import test_weights
from drsn_fd.evaluate.robustness import robustness_curve
from drsn_fd.io import write_json, write_text

METRICS, CURVE = "metrics.json", "robustness.csv"
# What the report needs of a completed record: (dotted key, what the reason names).
REQUIRED = (("test.best.acc", "test.best.acc / test.best.macro_f1"),
            ("test.best.macro_f1", "test.best.acc / test.best.macro_f1"),
            ("model", "model"), ("seed", "seed"), ("noise", "noise"), ("data", "data"), ("protocol", "protocol"),
            ("noise.kind", "noise.kind"), ("data.name", "data.name"))


class RecordError(DataError):
    """A metrics.json that cannot be read as a record: unreadable, not JSON, not an object."""


def data_summary(ws: WindowSet, data: DictConfig, splits: list[str] | None = None) -> dict:
    """The `data` part: the data set, its split protocol, and the windows and records of `splits` (all if None)."""
    summary = {"name": data.name, "source": data.source, "split_protocol": ws.protocol, "classes": ws.classes,
               "fs": ws.fs, "window": ws.window, "split": list(data.split)}
    if splits is None:
        summary["train_fraction"] = float(data.train_fraction)
        summary["windows"] = {s: len(sp.y) for s, sp in ws.splits.items()}
        summary["records"] = [r.summary() for r in ws.records]
    else:
        summary["windows"] = {s: len(ws.splits[s].y) for s in splits}
        used = sorted({int(i) for s in splits for i in ws.splits[s].record})
        summary["records"] = [ws.records[i].summary() for i in used]
    return summary


def condition_summary(experiment: str | None, overrides: list[tuple[str, str]]) -> dict:
    """The `condition` part: the experiment config and the (key, value) overrides of a job, seed left out."""
    return {"experiment": experiment, "overrides": {k: v for k, v in overrides if k != "seed"}}


def noise_summary(noise: DictConfig, trained: DictConfig | None = None) -> dict:
    """The `noise` part: the test noise, and the training noise of `trained` (a checkpoint's) or of `noise`."""
    summary = {"kind": noise.kind, "snr": noise.snr, "train_snr": train_snr(trained or noise),
               "fixed_train": bool((trained or noise).fixed_train)}
    if trained is not None:
        summary["train_kind"] = trained.kind
    return summary


def test_parts(model: torch.nn.Module, weights: Mapping[str, Mapping[str, torch.Tensor]], data: NoisyWindows,
               cfg: DictConfig, ws: WindowSet, batch: int, amp: bool, split: str = "test") -> dict:
    """`test` and `robustness` of one test split (`test_within` ... for split 'within').

    Each named state dict is tested on the split's windows at the test noise; then the curve is
    drawn with the `best` weights, which the model holds afterwards. The test noise is drawn
    first: the curve's point at noise.snr reuses that very draw.
    """
    y_true = ws.splits[split].y
    x = data.fixed(split, cfg.noise.kind, test_snr(cfg.noise))
    test = test_weights(model, weights, x, data.y[split], y_true, ws.classes, batch, amp)
    model.load_state_dict(weights["best"])
    curve = robustness_curve(model, data, cfg, y_true, batch, amp, split=split)
    suffix = "" if split == "test" else f"_{split}"
    return {f"test{suffix}": test, f"robustness{suffix}": curve}


def write_record(folder: Path, record: dict) -> None:
    """Write robustness.csv (once the record has its curve), then metrics.json; each atomically."""
    if "robustness" in record:
        import pandas as pd

        write_text(Path(folder) / CURVE, pd.DataFrame(record["robustness"]).to_csv(index=False))
    write_json(Path(folder) / METRICS, record)


def read_record(path: Path) -> dict:
    """The record in a metrics.json; RecordError saying why it cannot be read."""
    try:
        m = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        kind = "not valid JSON (half-written or corrupt)" if isinstance(e, ValueError) else "unreadable"
        raise RecordError(f"metrics.json is {kind}: {str(e).splitlines()[0]}") from None
    if not isinstance(m, dict):
        raise RecordError(f"metrics.json holds a {type(m).__name__}, not an object")
    return m


def missing(record: dict) -> str:
    """What a completed record lacks that the report needs (named as in REQUIRED), else ''."""
    for key, name in REQUIRED:
        node: object = record
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return name
    return ""
