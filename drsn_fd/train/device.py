"""Where and how a run computes: the device, seeds, determinism, compile and bf16 switches."""

from __future__ import annotations

import os

import numpy as np
import torch

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


def set_deterministic(on: bool) -> None:
    """trainer.deterministic: deterministic kernels only (an op without one raises), fixed cuDNN choice."""
    if on:  # cuBLAS needs a fixed workspace to be deterministic; read when cuBLAS starts
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    if on:
        torch.backends.cudnn.benchmark = False


def seed_everything(seed: int) -> None:
    """One seed for torch (every device) and numpy."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
