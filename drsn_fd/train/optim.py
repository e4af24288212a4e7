"""Optimiser and learning-rate schedule from the config."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from hydra.utils import instantiate

from drsn_fd.errors import ConfigError


def build_optimizer(cfg: Mapping, params) -> torch.optim.Optimizer:
    """The optimiser of `optim` (SGD with momentum by default)."""
    return instantiate(cfg, params=params)


def build_scheduler(cfg: Mapping, optimizer: torch.optim.Optimizer, epochs: int):
    """Per-epoch schedule: step decay at fractions of the epochs, or cosine annealing."""
    name = cfg.get("name")
    if name == "step":
        milestones = sorted({max(1, round(float(f) * epochs)) for f in cfg["milestones"]})
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=float(cfg["gamma"]))
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, epochs), eta_min=float(cfg.get("min_lr", 0.0)))
    raise ConfigError(f"scheduler.name={name!r} is unknown; allowed: step, cosine")
