"""drsn-export: the trained model as TorchScript or ONNX, for use without drsn_fd.

The exported model takes normalised windows shaped (batch, 1, window) as float32 and
returns the class logits (batch, classes); softmax gives the probabilities. Normalisation
is not inside it: apply the checkpoint's (z-score by default) to each raw window first.
A JSON file beside it (`<out>.json`) holds the class names, rate, window and normalisation, and
the accelerometer channel and window hop of the checkpoint's config (what drsn-predict windows by).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path

import torch

from drsn_fd.errors import ConfigError, DrsnError
from drsn_fd.evaluate.checkpoint_config import checkpoint_config
from drsn_fd.io import write_text
from drsn_fd.models.checkpoint import load_model

FORMATS = {"torchscript": ".torchscript.pt", "onnx": ".onnx"}
INPUT, OUTPUT = "windows", "logits"


def default_out(checkpoint: str | Path, fmt: str) -> Path:
    """`best.pt` -> `best.torchscript.pt` or `best.onnx`, beside the checkpoint."""
    return Path(checkpoint).with_suffix(FORMATS[fmt])


def _torchscript(model: torch.nn.Module, example: torch.Tensor, out: Path) -> None:
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated but still served
        traced = torch.jit.trace(model, example)
        tmp = out.with_name(f".{out.name}.tmp")
        torch.jit.save(traced, str(tmp))
    tmp.replace(out)


def _onnx(model: torch.nn.Module, example: torch.Tensor, out: Path) -> None:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise DrsnError(f"format=onnx needs the onnx and onnxscript packages ({e.name} is missing): "
                        "pip install 'drsn_fd[deploy]'") from None
    tmp = out.with_name(f".{out.name}.tmp")
    quiet = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")]
    levels = [q.level for q in quiet]
    for q in quiet:  # the exporter and its optimiser report every pass
        q.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(model, (example,), input_names=[INPUT], output_names=[OUTPUT],
                                        dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True,
                                        verbose=False)
            program.save(str(tmp))
    finally:
        for q, level in zip(quiet, levels, strict=True):
            q.setLevel(level)
    tmp.replace(out)


def export_model(checkpoint: str | Path, fmt: str, out: str | Path | None = None) -> Path:
    """Export the checkpoint's model to `out` (default beside it) and write `<out>.json`."""
    if fmt not in FORMATS:
        raise ConfigError(f"format={fmt!r} is unknown; allowed: {', '.join(FORMATS)}")
    model, ck = load_model(checkpoint)
    data = checkpoint_config(ck["config"], where=checkpoint).data
    out = Path(out) if out else default_out(checkpoint, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, 1, int(ck["window"]))
    (_torchscript if fmt == "torchscript" else _onnx)(model, example, out)
    meta = {"format": fmt, "checkpoint": str(checkpoint), "model": ck["model"], "classes": list(ck["classes"]),
            "fs": int(ck["fs"]), "window": int(ck["window"]), "normalize": ck["normalize"],
            "channel": data.channel, "stride": int(data.stride_eval or ck["window"]),
            "input": {"name": INPUT, "shape": ["batch", 1, int(ck["window"])], "dtype": "float32",
                      "what": f"windows of {ck['window']} samples at {ck['fs']} Hz, each normalised ({ck['normalize']})"},
            "output": {"name": OUTPUT, "shape": ["batch", len(ck["classes"])],
                       "what": "class logits in the order of classes; softmax gives probabilities"}}
    write_text(out.with_name(out.name + ".json"), json.dumps(meta, indent=2))
    return out
