"""The shrinkage module of Zhao et al. 2020: a learned soft threshold per sample and channel."""

from __future__ import annotations

import torch
from torch import nn


class Shrinkage(nn.Module):
    """tau = alpha * mean|x| from a small subnetwork; y = sign(x) * max(|x| - tau, 0).

    Channel-wise (CW) learns one alpha per channel; channel-shared (CS) one per sample,
    applied to the mean over channels of mean|x|.
    """

    def __init__(self, channels: int, channel_wise: bool = True):
        super().__init__()
        self.channel_wise = channel_wise
        self.fc = nn.Sequential(
            nn.Linear(channels, channels),
            nn.BatchNorm1d(channels),
            nn.ReLU(inplace=True),
            nn.Linear(channels, channels if channel_wise else 1),
            nn.Sigmoid(),
        )
        self.record = False  # set to keep the last alpha and tau for inspection
        self.last_alpha: torch.Tensor | None = None
        self.last_tau: torch.Tensor | None = None

    def thresholds(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, tau) for x of shape (batch, channels, time); tau has shape (batch, C or 1)."""
        a = x.abs().mean(-1)
        alpha = self.fc(a)
        tau = alpha * (a if self.channel_wise else a.mean(1, keepdim=True))
        return alpha, tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha, tau = self.thresholds(x)
        if self.record:
            self.last_alpha, self.last_tau = alpha.detach(), tau.detach()
        tau = tau.unsqueeze(-1)
        # soft threshold: x - clamp(x, -tau, tau) == sign(x) * max(|x| - tau, 0), in two kernels
        return x - torch.clamp(x, -tau, tau)
