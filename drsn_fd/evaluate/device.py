"""Where a model computes, for training and scoring alike: the device and the trainer's auto switches."""

from __future__ import annotations

import torch
from omegaconf import DictConfig

from drsn_fd.errors import ConfigError


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


def switch(value: object, device: torch.device, deterministic: bool = False) -> bool:
    """A trainer switch: auto means on for CUDA only, and off with trainer.deterministic."""
    return device.type == "cuda" and not deterministic if value == "auto" else bool(value)


def bf16(trainer: DictConfig, device: torch.device) -> bool:
    """trainer.amp: bf16 autocast, on CUDA only."""
    return switch(trainer.amp, device, bool(trainer.deterministic)) and device.type == "cuda"
