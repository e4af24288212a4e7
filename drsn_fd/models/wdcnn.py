"""WDCNN (Zhang et al., Sensors 2017): the standard anti-noise CWRU baseline."""

from __future__ import annotations

import torch
from torch import nn

from drsn_fd.models.registry import register_model


def _block(cin: int, cout: int, k: int, stride: int = 1, pad: int = 1) -> list[nn.Module]:
    return [nn.Conv1d(cin, cout, k, stride, pad), nn.BatchNorm1d(cout), nn.ReLU(inplace=True), nn.MaxPool1d(2)]


class WDCNN(nn.Module):
    """Wide first kernel (16 filters, k64, s16), four 3-wide conv + max-pool layers, FC 100."""

    def __init__(self, num_classes: int, width: float = 1.0, in_channels: int = 1):
        super().__init__()
        c = [max(1, round(v * width)) for v in (16, 32, 64, 64, 64)]
        self.features = nn.Sequential(
            *_block(in_channels, c[0], 64, 16, 24), *_block(c[0], c[1], 3), *_block(c[1], c[2], 3),
            *_block(c[2], c[3], 3), *_block(c[3], c[4], 3, pad=0),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * c[4], 100), nn.BatchNorm1d(100),
                                  nn.ReLU(inplace=True), nn.Linear(100, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(adaptive_max_pool(self.features(x), 3))


def adaptive_max_pool(x: torch.Tensor, bins: int) -> torch.Tensor:
    """`AdaptiveMaxPool1d(bins)` (3 steps for the paper's 2048-sample input, any length here), written
    with slices of the static length so that the ONNX exporter, which has no adaptive max pool, takes it."""
    n = x.shape[-1]
    cuts = [(i * n // bins, -(-(i + 1) * n // bins)) for i in range(bins)]
    return torch.stack([x[..., a:b].amax(-1) for a, b in cuts], dim=-1)


@register_model(family="reference", order=3, colour="#2ca02c", min_window=1024)  # five halvings after stride 16
def wdcnn(num_classes: int, width: float = 1.0, in_channels: int = 1) -> WDCNN:
    """WDCNN of Zhang et al. 2017."""
    return WDCNN(num_classes, width, in_channels)
