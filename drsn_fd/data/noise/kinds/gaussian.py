"""gaussian: white Gaussian noise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drsn_fd.data.noise.registry import register_noise

if TYPE_CHECKING:
    import torch


@register_noise("gaussian", order=0)
def gaussian(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
    """N(0, 1) at each sample."""
    import torch

    return torch.randn(shape, generator=gen, device=device)
