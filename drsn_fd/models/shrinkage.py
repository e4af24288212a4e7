"""The shrinkage module of Zhao et al. 2020 (a learned soft threshold per sample and channel).

Its control, the scaling module of se_resnet, shares the same attention subnetwork.
"""

from __future__ import annotations

import torch
from torch import nn


class _SoftThreshold(torch.autograd.Function):
    """y = sign(x) * max(|x| - tau, 0), with a backward that only keeps sign(y).

    dy/dx is 1 where |x| > tau and 0 elsewhere, and dy/dtau is -sign(x) there: both follow
    from sign(y). Autograd through clamp would instead rebuild masks from x and tau with a
    chain of comparisons, which on the CPU costs more than the convolutions of these small
    networks.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        y = x - torch.clamp(x, -tau, tau)
        ctx.tau_shape = tau.shape
        ctx.save_for_backward(y)  # the output is kept for the next layer anyway: no extra memory
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        (y,) = ctx.saved_tensors
        s = torch.sign(y)
        gs = grad * s
        return gs * s, -gs.sum_to_size(ctx.tau_shape)


def soft_threshold(x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """sign(x) * max(|x| - tau, 0); tau broadcasts over x (e.g. (batch, C or 1, 1))."""
    if torch.is_grad_enabled() and (x.requires_grad or tau.requires_grad):
        return _SoftThreshold.apply(x, tau)
    return x - torch.clamp(x, -tau, tau)


class ChannelAttention(nn.Module):
    """The subnetwork of Zhao et al.: alpha = sigmoid(FC(ReLU(BN(FC(a))))), a = mean|x| over time.

    One alpha per channel (`channel_wise`) or one per sample. Subclasses decide what alpha does;
    with `record` set, forward keeps `last_alpha` and `last_tau` (None where there is no threshold).
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
        self.record = False
        self.last_alpha: torch.Tensor | None = None
        self.last_tau: torch.Tensor | None = None

    def attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, alpha) for x of shape (batch, channels, time); alpha has shape (batch, C or 1)."""
        a = x.abs().mean(-1)
        return a, self.fc(a)

    def _keep(self, alpha: torch.Tensor, tau: torch.Tensor | None) -> None:
        if self.record:
            self.last_alpha, self.last_tau = alpha.detach(), None if tau is None else tau.detach()


class Shrinkage(ChannelAttention):
    """tau = alpha * mean|x| from the subnetwork; y = sign(x) * max(|x| - tau, 0).

    Channel-wise (CW) learns one alpha per channel; channel-shared (CS) one per sample,
    applied to the mean over channels of mean|x|.
    """

    def thresholds(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, tau) for x of shape (batch, channels, time); tau has shape (batch, C or 1)."""
        a, alpha = self.attention(x)
        tau = alpha * (a if self.channel_wise else a.mean(1, keepdim=True))
        return alpha, tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha, tau = self.thresholds(x)
        self._keep(alpha, tau)
        return soft_threshold(x, tau.unsqueeze(-1))


class Scaling(ChannelAttention):
    """The se_resnet control: the same subnetwork (channel-wise), but y = alpha * x, no threshold."""

    def __init__(self, channels: int):
        super().__init__(channels, channel_wise=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self.attention(x)[1]
        self._keep(alpha, None)
        return alpha.unsqueeze(-1) * x


def shrinkage_units(model: nn.Module) -> list[nn.Module]:
    """The model's shrinkage (or attention) modules in depth order; empty for a model without any."""
    return model.shrinkage_modules() if hasattr(model, "shrinkage_modules") else []
