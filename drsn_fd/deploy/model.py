"""Rebuild the trained model of a checkpoint, in eval mode, ready for inference."""

from __future__ import annotations

from pathlib import Path

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from drsn_fd.errors import CheckpointError
from drsn_fd.train.checkpoint import load_checkpoint


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """(model in eval mode with the checkpoint's weights, the checkpoint) of `path`.

    The model is built from the checkpoint's own model config, exactly as training built it.
    """
    ckpt = load_checkpoint(path, device)
    model_cfg = ckpt.get("model_cfg") or (ckpt["config"] or {}).get("model")
    if not model_cfg:
        raise CheckpointError(f"{path}: checkpoint holds no model config")
    try:
        model = instantiate(model_cfg, num_classes=len(ckpt["classes"]))
        model.load_state_dict(ckpt["model_state"])
    except (InstantiationException, RuntimeError, KeyError, TypeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: weights do not fit model {ckpt['model']!r} ({first})") from None
    return model.to(device).eval(), ckpt


def shrinkage_units(model: torch.nn.Module) -> list:
    """The model's shrinkage modules in depth order (empty for a model without any)."""
    return model.shrinkage_modules() if hasattr(model, "shrinkage_modules") else []
