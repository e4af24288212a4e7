"""Re-estimate a model's BatchNorm statistics on given windows; nothing else in the model changes.

Two uses: precise BN (`trainer.precise_bn`: the statistics of a copy of the model, re-estimated on
the epoch's training windows before it is scored) and AdaBN (`drsn-evaluate adapt=bn`: the
statistics of the unlabelled target windows, Li et al. 2016).

With all windows in one batch (`batch=None`) the result is exact: one eval-mode pass in which each
BatchNorm, just before it runs, takes the mean and unbiased variance of its own input over the
windows, so every later layer sees its input as the adapted model will. In batches, the windows go
through the model in training mode with each BatchNorm's momentum set to None: the statistics are
the cumulative average over the batches (precise BN).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of `model` that keep running statistics, in module order."""
    return [m for m in model.modules() if isinstance(m, _BN) and m.track_running_stats]


@torch.no_grad()
def reestimate_bn(model: nn.Module, x: torch.Tensor, batch: int | None = None) -> nn.Module:
    """Replace the running statistics of every BatchNorm of `model` (in place) by those of windows `x`.

    One pass in batches of `batch` windows (None: all at once, exact); the parameters, and every
    buffer but the BatchNorm statistics, are left as they were. Returns the model in eval mode.
    """
    layers = batchnorm_layers(model)
    if not layers or len(x) == 0:
        return model.eval()
    if batch is None or len(x) <= batch:
        return _exact(model, layers, x)
    momenta = [m.momentum for m in layers]
    was_training = {m: m.training for m in model.modules()}
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches of this pass
    model.train()
    step = max(2, int(batch))
    try:
        for i in range(0, len(x), step):
            xb = x[i:i + step]
            if len(xb) < 2 and i > 0:  # BatchNorm needs two windows; fold a lone last one into the pass
                break
            model(xb)
    finally:
        for m, momentum in zip(layers, momenta, strict=True):
            m.momentum = momentum
            m.num_batches_tracked.zero_()
        for m, training in was_training.items():
            m.train(training)
    return model.eval()


def _exact(model: nn.Module, layers: list, x: torch.Tensor) -> nn.Module:
    """One eval-mode pass; each BatchNorm sets its statistics from its input before normalising it."""

    def take_stats(m, inputs):
        z = inputs[0]
        var, mean = torch.var_mean(z, dim=[d for d in range(z.dim()) if d != 1], correction=1)  # per channel
        m.running_mean.copy_(mean)
        m.running_var.copy_(var)
        m.num_batches_tracked.zero_()

    handles = [m.register_forward_pre_hook(take_stats) for m in layers]
    try:
        model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return model


def with_reestimated_bn(model: nn.Module, x: torch.Tensor, batch: int | None = None) -> nn.Module:
    """A copy of `model` whose BatchNorm statistics are those of `x`; `model` itself is untouched."""
    return reestimate_bn(copy.deepcopy(model), x, batch)
