"""Per-window normalisation, applied after the noise."""

from __future__ import annotations

import torch

from drsn_fd.data.noise_spec import NORMALIZATIONS  # the one home of the names (torch-free)

__all__ = ["NORMALIZATIONS", "normalize"]


def normalize(x: torch.Tensor, how: str = "zscore", eps: float = 1e-8) -> torch.Tensor:
    """z-score (zero mean, unit std), min-max to [-1, 1], or none, over the last axis."""
    if how == "zscore":
        mean = x.mean(-1, keepdim=True)
        std = x.std(-1, keepdim=True, unbiased=False)
        return (x - mean) / (std + eps)
    if how == "minmax":
        lo = x.amin(-1, keepdim=True)
        hi = x.amax(-1, keepdim=True)
        return 2 * (x - lo) / (hi - lo + eps) - 1
    if how == "none":
        return x
    raise ValueError(f"unknown normalisation {how!r}; allowed: {', '.join(NORMALIZATIONS)}")
