"""drsn-predict: classify new recordings window by window, exactly as training windowed them.

Each file (a `.mat`: its CWRU channel, the signal `key=` names, or its one numeric array;
a `.npy`; a `.csv`: its one column, or the one `column=` names; the layouts of
`drsn_fd.data.signal_files`, which data=manifest reads too) is brought to the checkpoint's rate with the training resampler, cut into windows
of the checkpoint's length, normalised per window as in training, and classified. No
noise is added: a recording brings its own.

Windows hop by the training eval stride (`data.stride_eval` of the checkpoint's config:
the hop its val and test windows were scored with); `stride=` changes it.

The input rate comes from `input_fs=`, else (for a `.mat`) from the catalog through the
CWRU file number in its name; a file whose rate is not known is refused, never guessed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from drsn_fd.data.catalog import lookup
from drsn_fd.data.matfile import file_number
from drsn_fd.data.normalize import normalize
from drsn_fd.data.resample import resample
from drsn_fd.data.signal_files import SUFFIXES, read_csv, read_mat, read_npy, refuse_options
from drsn_fd.data.split import make_windows, window_starts
from drsn_fd.errors import ConfigError, DataError
from drsn_fd.evaluate.checkpoint_config import checkpoint_config
from drsn_fd.io import write_text
from drsn_fd.models.checkpoint import load_model

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    """The windows of one input file and the class probabilities of each."""

    file: str
    fs_in: int
    samples: int  # at the model's rate
    starts: np.ndarray  # first sample of each window, at the model's rate
    probs: np.ndarray  # (windows, classes)


def input_files(path: str | Path) -> list[tuple[Path, bool]]:
    """[(file, came from a folder)] for a file, or the signal files under a folder."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise DataError(f"{path}: unsupported input; allowed: {', '.join(SUFFIXES)}")
        return [(path, False)]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
        if not files:
            raise DataError(f"{path}: no {', '.join(SUFFIXES)} files in this folder")
        return [(p, True) for p in files]
    raise DataError(f"{path}: no such file or folder")


def positive_int(value: object, key: str, unit: str = "Hz") -> int:
    """A positive whole number (a rate in Hz, a stride in samples), or an error naming the key."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={value!r} is not a number ({unit})") from None
    if not np.isfinite(v) or v <= 0 or v != int(v):
        raise ConfigError(f"{key}={value!r} must be a positive whole number of {unit}")
    return int(v)


def input_rate(path: Path, input_fs: int | None) -> int:
    """The rate of `path`: input_fs, else the catalog rate of a CWRU `.mat`; else refused."""
    if input_fs is not None:
        if path.suffix.lower() == ".mat":
            entry = lookup(file_number(path)) if file_number(path) is not None else None
            if entry is not None and entry.fs_hz != input_fs:
                log.warning("%s: input_fs=%d overrides the catalog rate %d Hz of CWRU file %d",
                            path, input_fs, entry.fs_hz, entry.number)
        return input_fs
    if path.suffix.lower() == ".mat":
        num = file_number(path)
        entry = lookup(num) if num is not None else None
        if entry is not None:
            return entry.fs_hz
        why = "its name holds no CWRU file number of the catalog"
    else:
        why = f"a {path.suffix} file carries no rate"
    raise DataError(f"{path}: sampling rate unknown ({why}); pass input_fs=HZ")


def read_signal(path: Path, channel: str, from_folder: bool = False, key: str | None = None,
                column: object = None) -> np.ndarray | None:
    """The raw signal of one input file (None: a folder's CSV of several columns, no column= given).

    `key` applies to a `.mat` and `column` to a `.csv` only; in a folder, the other files ignore them.
    """
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return read_mat(path, channel, key)[0]
    if suffix == ".npy":
        return read_npy(path)
    x = read_csv(path, column)
    if x is None:
        if from_folder:
            log.info("skipping %s: a CSV of several columns (name the signal's with column=)", path)
            return None
        raise DataError(f"{path}: this CSV has several columns; name the signal's with column= "
                        "(a header name or a 0-based index)")
    return x


def windows_of(signal: np.ndarray, window: int, stride: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """((n, window) float32 windows, their start samples) of a whole record."""
    x = make_windows(signal, window, stride, name)
    return x.astype(np.float32, copy=False), window_starts(len(signal), window, stride)


@torch.inference_mode()
def class_probabilities(model: torch.nn.Module, x: np.ndarray, how: str, batch: int = 512) -> np.ndarray:
    """Softmax probabilities (n, classes) of raw windows (n, window), normalised as in training."""
    xt = normalize(torch.from_numpy(x).unsqueeze(1), how)
    dev = next(model.parameters()).device
    out = [torch.softmax(model(xt[i:i + batch].to(dev)).float(), 1).cpu() for i in range(0, len(xt), batch)]
    return torch.cat(out).numpy().astype(np.float64)


def predict_files(checkpoint: str | Path, inputs: str | Path, input_fs: object = None, channel: str | None = None,
                  stride: object = None, batch: int = 512, *, key: str | None = None, column: object = None) -> dict:
    """Classify every window of every input file; the result holds each file's windows.

    `key`: the signal's key in a `.mat`; `column`: a `.csv`'s signal column (header name or 0-based index).
    """
    model, ck = load_model(checkpoint)
    data_cfg = checkpoint_config(ck["config"], where=checkpoint).data
    fs, window, how = int(ck["fs"]), int(ck["window"]), ck["normalize"]
    channel = channel or data_cfg.channel
    stride = positive_int(stride, "stride", "samples") if stride is not None else int(data_cfg.stride_eval or window)
    fs_given = positive_int(input_fs, "input_fs") if input_fs is not None else None
    files = []
    for path, from_folder in input_files(inputs):
        is_mat = path.suffix.lower() == ".mat"
        if is_mat:  # refused before it is read
            fs_in = input_rate(path, fs_given)
        if not from_folder:
            refuse_options(path, key, column)
        raw = read_signal(path, channel, from_folder, key, column)
        if raw is None:
            continue
        if not is_mat:
            fs_in = input_rate(path, fs_given)
        signal = resample(raw, fs_in, fs).astype(np.float32)
        if len(signal) < window:
            at = f" ({len(raw)} at {fs_in} Hz before resampling)" if fs_in != fs else ""
            raise DataError(f"{path}: {len(signal)} samples at {fs} Hz{at}, shorter than one window of "
                            f"{window} samples that the model takes")
        x, starts = windows_of(signal, window, stride, str(path))
        files.append(FileResult(str(path), fs_in, len(signal), starts, class_probabilities(model, x, how, batch)))
    if not files:
        raise DataError(f"{inputs}: no signal file to classify")
    return {"checkpoint": str(checkpoint), "model": ck["model"], "classes": list(ck["classes"]), "fs": fs,
            "window": window, "stride": stride, "normalize": how, "channel": channel, "files": files}


def file_summary(r: FileResult, classes: list[str]) -> dict:
    """Majority vote over the windows (ties go to the higher mean probability), share, means."""
    pred = r.probs.argmax(1)
    votes = np.bincount(pred, minlength=len(classes))
    mean = r.probs.mean(0)
    winner = int(np.lexsort((mean, votes))[-1])
    return {"file": r.file, "fs_in": r.fs_in, "samples": r.samples, "windows": len(pred),
            "predicted": classes[winner], "share": float(votes[winner] / len(pred)),
            "votes": {c: int(v) for c, v in zip(classes, votes, strict=True)},
            "mean_probabilities": {c: float(p) for c, p in zip(classes, mean, strict=True)}}


def to_json(result: dict) -> dict:
    """The machine-readable result: the run's settings and one summary per file."""
    return {**{k: v for k, v in result.items() if k != "files"},
            "files": [file_summary(r, result["classes"]) for r in result["files"]]}


def format_text(result: dict) -> str:
    """A few human-readable lines per file."""
    lines = [f"{result['checkpoint']}: {result['model']}, {len(result['classes'])} classes, {result['fs']} Hz, "
             f"windows of {result['window']} samples every {result['stride']}, {result['normalize']}"]
    for s in to_json(result)["files"]:
        rate = f"{s['fs_in']} Hz" + (f" -> {result['fs']} Hz" if s["fs_in"] != result["fs"] else "")
        lines.append(f"{s['file']}: {s['predicted']}  ({s['votes'][s['predicted']]}/{s['windows']} windows, "
                     f"{100 * s['share']:.1f} %)  [{rate}]")
        lines.append("    mean probabilities: " + "  ".join(f"{c} {p:.3f}" for c, p in s["mean_probabilities"].items()))
    return "\n".join(lines)


def window_table(result: dict) -> pd.DataFrame:
    """One row per window: file, window, start (sample at the model's rate), time_s, predicted, p_<class>."""
    classes = result["classes"]
    parts = []
    for r in result["files"]:
        df = pd.DataFrame({"file": r.file, "window": np.arange(len(r.starts)), "start": r.starts,
                           "time_s": r.starts / result["fs"], "predicted": [classes[i] for i in r.probs.argmax(1)]})
        probs = pd.DataFrame(r.probs, columns=[f"p_{c}" for c in classes])
        parts.append(pd.concat([df, probs], axis=1))
    return pd.concat(parts, ignore_index=True)


def write_window_csv(result: dict, path: str | Path) -> Path:
    """Write the per-window table as CSV (atomically)."""
    path = Path(path)
    write_text(path, window_table(result).to_csv(index=False))
    return path
