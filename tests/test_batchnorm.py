"""Re-estimated BatchNorm statistics: only BN buffers change, and they are the layers' input statistics."""

from __future__ import annotations

import pytest
import torch

from drsn_fd.models import create_model, list_models, model_entry
from drsn_fd.models.batchnorm import batchnorm_layers, reestimate_bn, with_reestimated_bn
from tests.helpers import bn_input_stats

BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def _trained_a_little(name: str) -> torch.nn.Module:
    """A model whose running statistics are far from those of new windows: a few steps on other data."""
    torch.manual_seed(0)
    small = {"units_per_stage": 1} if "units_per_stage" in model_entry(name).sizes else {}
    model = create_model(name, 4, **small)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        x, y = 3 * torch.randn(16, 1, 1024) + 1, torch.randint(0, 4, (16,))
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


@pytest.mark.parametrize("name", list_models())
def test_only_batchnorm_buffers_change(name):
    model = _trained_a_little(name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    reestimate_bn(model, torch.randn(40, 1, 1024), batch=16)
    after = model.state_dict()
    for key, value in before.items():
        if key.rsplit(".", 1)[-1] in BN_BUFFERS:
            continue
        assert torch.equal(value, after[key]), key
    changed = [k for k in before if k.endswith("running_mean") and not torch.equal(before[k], after[k])]
    assert changed and not model.training


@pytest.mark.parametrize("name", list_models())
def test_the_statistics_are_each_layers_input_mean_and_variance_over_the_windows(name):
    model = _trained_a_little(name)
    x = 0.5 * torch.randn(24, 1, 1024) - 0.2
    reestimate_bn(model, x)  # one batch: exact
    oracle = bn_input_stats(model, x)
    layers = batchnorm_layers(model)
    assert len(oracle) == len(layers)
    for m, (mean, var) in zip(layers, oracle, strict=True):
        torch.testing.assert_close(m.running_mean.double(), mean, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(m.running_var.double(), var, rtol=1e-5, atol=1e-7)


def test_batches_give_the_cumulative_average_and_the_original_is_untouched():
    model = _trained_a_little("drsn_cw")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(32, 1, 1024)
    copy = with_reestimated_bn(model, x, batch=16)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    halves = [with_reestimated_bn(model, x[:16]), with_reestimated_bn(model, x[16:])]
    first = batchnorm_layers(copy)[0]
    expected = (batchnorm_layers(halves[0])[0].running_mean + batchnorm_layers(halves[1])[0].running_mean) / 2
    torch.testing.assert_close(first.running_mean, expected)
