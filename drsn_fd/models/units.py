"""The residual building unit of Table II (pre-activation, optional shrinkage)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from drsn_fd.models.shrinkage import Shrinkage


class Unit(nn.Module):
    """BN-ReLU-Conv(k3, stride)-BN-ReLU-Conv(k3) [-shrinkage] [+ shortcut].

    The shortcut decimates by the stride and zero-pads the new channels; there is no
    ReLU after the add. `shrink` is None (ResNet), "cs" or "cw" (DRSN); `shortcut=False`
    gives the plain ConvNet unit.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, shrink: str | None = None, shortcut: bool = True):
        super().__init__()
        self.bn1 = nn.BatchNorm1d(cin)
        self.conv1 = nn.Conv1d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, 3, 1, 1, bias=False)
        self.shrink = Shrinkage(cout, channel_wise=(shrink == "cw")) if shrink else None
        self.shortcut = shortcut
        self.stride, self.pad = stride, cout - cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.relu(self.bn1(x)))
        h = self.conv2(F.relu(self.bn2(h)))
        if self.shrink is not None:
            h = self.shrink(h)
        if not self.shortcut:
            return h
        s = x[..., :: self.stride] if self.stride > 1 else x
        if self.pad:
            s = F.pad(s, (0, 0, 0, self.pad))
        return h + s
