"""Self-contained checkpoints: weights plus what is needed to use or resume them.

Checkpoints are read with `weights_only=True`: a shared `.pt` file can hold tensors, numbers,
strings and containers, never code to run.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from hydra.errors import InstantiationException

from drsn_fd.errors import CheckpointError
from drsn_fd.io import torch_save
from drsn_fd.models.registry import build_model

FORMAT = "drsn_fd/1"
REQUIRED = ("format", "model_state", "model", "classes", "fs", "window", "normalize", "config")


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write a checkpoint atomically."""
    torch_save(path, {"format": FORMAT, **payload})


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint, refusing a missing, corrupt, code-carrying or foreign file by name."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if "GLOBAL" in str(e):  # the pickle asks for a Python object: code could run
            raise CheckpointError(f"{path}: refused, it needs more than weights to load (its pickle "
                                  "names Python objects to build or call); drsn_fd checkpoints hold "
                                  "weights and plain values only") from None
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint (not a readable torch file)") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError,
            AttributeError, ImportError, IndexError, KeyError) as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({type(e).__name__}: {first})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a drsn_fd checkpoint (format {FORMAT} expected)")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    return ckpt


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """(model in eval mode with the checkpoint's weights, the checkpoint) of `path`.

    The model is built from the checkpoint's own model config, exactly as training built it.
    """
    ckpt = load_checkpoint(path, device)
    model_cfg = ckpt.get("model_cfg") or (ckpt["config"] or {}).get("model")
    if not model_cfg:
        raise CheckpointError(f"{path}: checkpoint holds no model config")
    try:
        model = build_model(model_cfg, len(ckpt["classes"]))
        model.load_state_dict(ckpt["model_state"])
    except (InstantiationException, RuntimeError, KeyError, TypeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: weights do not fit model {ckpt['model']!r} ({first})") from None
    return model.to(device).eval(), ckpt
