"""Learning-rate schedules per epoch, built by Hydra as partials: `instantiate(cfg.scheduler)(optimizer, epochs=E)`."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def step_decay(optimizer: torch.optim.Optimizer, epochs: int, milestones: Sequence[float],
               gamma: float = 0.1) -> torch.optim.lr_scheduler.MultiStepLR:
    """x gamma at each milestone, given as a fraction of the epochs (the paper: 40 % and 80 %)."""
    steps = sorted({max(1, round(float(f) * epochs)) for f in milestones})
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, steps, gamma=float(gamma))


def cosine(optimizer: torch.optim.Optimizer, epochs: int, min_lr: float = 0.0) -> torch.optim.lr_scheduler.CosineAnnealingLR:
    """Cosine annealing from the optimiser's lr to min_lr over all epochs."""
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, epochs), eta_min=float(min_lr))
