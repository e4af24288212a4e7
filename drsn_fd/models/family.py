"""The DRSN family of Table II (Zhao et al. 2020): convnet, resnet, drsn_cs, drsn_cw, and se_resnet."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from drsn_fd.models.registry import register_model
from drsn_fd.models.shrinkage import ChannelAttention, Scaling
from drsn_fd.models.units import Unit


class ShrinkageNet(nn.Module):
    """Stem Conv(1->4w, k3, s2), three stages of 4w/8w/16w channels, BN-ReLU-GAP-linear head.

    `shrink`: None, "cs" or "cw" (soft thresholds), or "se" (the scaling control).
    """

    def __init__(self, num_classes: int, shrink: str | None = None, shortcut: bool = True,
                 width: float = 1.0, units_per_stage: int = 4, in_channels: int = 1):
        super().__init__()
        widths = [max(1, round(c * width)) for c in (4, 8, 16)]
        self.stem = nn.Conv1d(in_channels, widths[0], 3, 2, 1, bias=False)
        units, cin = [], widths[0]
        for cout in widths:
            for i in range(units_per_stage):
                unit = Unit(cin, cout, 2 if i == 0 else 1, None if shrink == "se" else shrink, shortcut)
                if shrink == "se":
                    unit.shrink = Scaling(cout)
                units.append(unit)
                cin = cout
        self.units = nn.Sequential(*units)
        self.bn = nn.BatchNorm1d(cin)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.units(self.stem(x))
        return self.fc(F.relu(self.bn(h)).mean(-1))

    def shrinkage_modules(self) -> list[ChannelAttention]:
        """The shrinkage (DRSN) or scaling (se_resnet) modules in depth order; empty for ConvNet and ResNet.

        Each keeps `last_alpha` when `record` is set; `last_tau` is None for scaling modules.
        """
        return [m for m in self.modules() if isinstance(m, ChannelAttention)]


@register_model(family="reference", order=0, colour="#7f7f7f")
def convnet(num_classes: int, width: float = 1.0, units_per_stage: int = 4,
            in_channels: int = 1) -> ShrinkageNet:
    """Plain ConvNet: the same units without shortcut or shrinkage."""
    return ShrinkageNet(num_classes, None, False, width, units_per_stage, in_channels)


@register_model(family="baseline", order=1, colour="#1f77b4")
def resnet(num_classes: int, width: float = 1.0, units_per_stage: int = 4,
           in_channels: int = 1) -> ShrinkageNet:
    """Pre-activation 1-D ResNet of Table II (no shrinkage)."""
    return ShrinkageNet(num_classes, None, True, width, units_per_stage, in_channels)


@register_model(family="drsn", order=4, colour="#ff7f0e")
def drsn_cs(num_classes: int, width: float = 1.0, units_per_stage: int = 4,
            in_channels: int = 1) -> ShrinkageNet:
    """DRSN with channel-shared thresholds."""
    return ShrinkageNet(num_classes, "cs", True, width, units_per_stage, in_channels)


@register_model(family="drsn", order=5, colour="#d62728")
def drsn_cw(num_classes: int, width: float = 1.0, units_per_stage: int = 4,
            in_channels: int = 1) -> ShrinkageNet:
    """DRSN with channel-wise thresholds."""
    return ShrinkageNet(num_classes, "cw", True, width, units_per_stage, in_channels)


@register_model(family="control", order=2, colour="#9467bd")
def se_resnet(num_classes: int, width: float = 1.0, units_per_stage: int = 4,
              in_channels: int = 1) -> ShrinkageNet:
    """Control of drsn_cw: the same subnetwork, scaling features by alpha instead of thresholding."""
    return ShrinkageNet(num_classes, "se", True, width, units_per_stage, in_channels)
