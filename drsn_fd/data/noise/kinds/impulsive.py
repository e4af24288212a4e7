"""impulsive: Bernoulli-Gaussian noise, a Gaussian background with rare strong impulses."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from drsn_fd.data.noise.registry import Param, register_noise

if TYPE_CHECKING:
    import torch

RATE = Param(0.01, lambda v: 0 < v < 1, "a number in the open interval (0, 1): impulses per sample")
RATIO = Param(100.0, lambda v: v > 0, "a finite number > 0: impulse variance / background variance")


def impulsive(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str = "cpu",
              rate: float = RATE.default, ratio: float = RATIO.default) -> tuple[torch.Tensor, torch.Tensor]:
    """(Bernoulli-Gaussian noise, its impulse mask): N(0, 1), plus N(0, ratio) where the mask is set."""
    import torch

    mask = torch.rand(shape, generator=gen, device=device) < rate
    noise = torch.randn(shape, generator=gen, device=device)
    return noise + mask * (math.sqrt(ratio) * torch.randn(shape, generator=gen, device=device)), mask


@register_noise("impulsive", order=3, params={"impulse_rate": RATE, "impulse_ratio": RATIO})
def impulsive_noise(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str = "cpu",
                    impulse_rate: float = RATE.default, impulse_ratio: float = RATIO.default) -> torch.Tensor:
    """The noise of `impulsive`, without its mask."""
    return impulsive(shape, gen, device, impulse_rate, impulse_ratio)[0]
