"""Score a model on windows: predictions in eval mode, and the one test of a trained run."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F

from drsn_fd.evaluate.metrics import classification_metrics


@torch.inference_mode()
def predict(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int,
            amp: bool = False) -> tuple[float, np.ndarray]:
    """(mean loss, predicted classes) over x in eval mode, with one host sync at the end."""
    model.eval()
    loss = torch.zeros((), device=x.device)
    preds = []
    ctx = torch.autocast("cuda", torch.bfloat16) if amp else nullcontext()
    for i in range(0, len(x), batch):
        with ctx:
            logits = model(x[i:i + batch]).float()
        loss += F.cross_entropy(logits, y[i:i + batch], reduction="sum")
        preds.append(logits.argmax(1))
    return loss.item() / max(len(x), 1), torch.cat(preds).cpu().numpy()


def test_weights(model: torch.nn.Module, weights: Mapping[str, Mapping[str, torch.Tensor]], x: torch.Tensor,
                 y: torch.Tensor, y_true: np.ndarray, classes: list[str], batch: int,
                 amp: bool = False) -> dict[str, dict]:
    """Test metrics of each named state dict (e.g. best and last) on the windows x with labels y.

    The caller loads the weights it wants afterwards: the model holds whichever came last.
    """
    results = {}
    for which, state in weights.items():
        model.load_state_dict(state)
        loss, pred = predict(model, x, y, batch, amp)
        results[which] = {**classification_metrics(y_true, pred, classes), "loss": loss}
    return results
