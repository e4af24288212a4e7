"""pink: noise with a 1/f power spectral density along the last (time) axis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drsn_fd.data.noise.registry import register_noise

if TYPE_CHECKING:
    import torch


@register_noise("pink", order=2)
def pink(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
    """White Gaussian noise shaped to a 1/f power spectral density, without its DC component."""
    import torch

    n = shape[-1]
    white = torch.randn(shape, generator=gen, device=device)
    spec = torch.fft.rfft(white, dim=-1)
    f = torch.arange(spec.shape[-1], device=device, dtype=white.dtype)
    f[0] = 1.0  # the DC bin is removed below
    scale = f.rsqrt()
    scale[0] = 0.0
    return torch.fft.irfft(spec * scale, n=n, dim=-1)
