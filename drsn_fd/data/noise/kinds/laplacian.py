"""laplacian: white Laplace noise (heavier tails than Gaussian: excess kurtosis 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drsn_fd.data.noise.registry import register_noise

if TYPE_CHECKING:
    import torch


@register_noise("laplacian", order=1)
def laplacian(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
    """Laplace(0, 1): the difference of two unit exponentials."""
    import torch

    e = torch.empty((2, *shape), device=device).exponential_(generator=gen)
    return e[0] - e[1]
