"""Every registered model, and the shrinkage module's properties."""

import pytest
import torch

from drsn_fd.errors import ConfigError
from drsn_fd.models import create_model, list_models
from drsn_fd.models.shrinkage import Scaling, Shrinkage

PARAMS = {"convnet": (7_000, 10_000), "resnet": (7_000, 10_000), "drsn_cs": (8_000, 12_000),
          "drsn_cw": (8_000, 12_000), "se_resnet": (8_000, 12_000), "wdcnn": (40_000, 70_000)}


def test_registry_lists_the_family():
    assert {"convnet", "resnet", "drsn_cs", "drsn_cw", "se_resnet", "wdcnn"} <= set(list_models())


@pytest.mark.parametrize("name", list_models())
def test_every_model_shape_backward_and_size(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=10)
    x = torch.randn(4, 1, 2048, requires_grad=True)
    out = model(x)
    assert out.shape == (4, 10)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    n = sum(p.numel() for p in model.parameters())
    lo, hi = PARAMS[name]
    assert lo <= n <= hi, f"{name}: {n} parameters"


@pytest.mark.parametrize("name", list_models())
def test_every_model_any_window_and_width(name):
    model = create_model(name, num_classes=4, width=2.0)
    assert model(torch.randn(3, 1, 1024)).shape == (3, 4)


def test_every_registered_model_has_its_config_and_the_config_builds_it():
    """configs/model/<name>.yaml exists for each registered model (and no other), names it, holds
    only its sizes (no _target_), and builds the same network as `create_model`."""
    from importlib.resources import files

    from omegaconf import OmegaConf

    from drsn_fd.models import model_from_config
    from tests.helpers import make_cfg

    yamls = sorted(p.name[:-5] for p in (files("drsn_fd.configs") / "model").iterdir() if p.name.endswith(".yaml"))
    assert sorted(yamls) == sorted(list_models())
    for name in list_models():
        cfg = make_cfg(f"model={name}", tiny=False).model
        assert cfg.name == name and "_target_" not in cfg
        torch.manual_seed(0)
        built = model_from_config(OmegaConf.to_container(cfg), 10)
        torch.manual_seed(0)
        made = create_model(name, 10)
        assert type(built) is type(made)
        assert all(torch.equal(a, b) for a, b in zip(built.state_dict().values(), made.state_dict().values(), strict=True))


def test_unknown_model_names_the_choices():
    with pytest.raises(ConfigError, match="model='drsn_xx' is unknown; registered models: convnet"):
        create_model("drsn_xx", 10)


def test_width_and_units_scale_the_family():
    small = sum(p.numel() for p in create_model("drsn_cw", 10).parameters())
    big = sum(p.numel() for p in create_model("drsn_cw", 10, width=4.0).parameters())
    deep = sum(p.numel() for p in create_model("drsn_cw", 10, units_per_stage=8).parameters())
    assert big > 8 * small and deep > 1.8 * small


@pytest.mark.parametrize("channel_wise", [True, False])
def test_shrinkage_properties(channel_wise):
    torch.manual_seed(1)
    m = Shrinkage(8, channel_wise).train()
    x = (torch.randn(16, 8, 100) * torch.rand(16, 8, 1) * 3).requires_grad_(True)
    alpha, tau = m.thresholds(x)
    a = x.abs().mean(-1)
    assert tau.shape == ((16, 8) if channel_wise else (16, 1))
    assert (alpha > 0).all() and (alpha < 1).all()
    assert (tau >= 0).all()
    if channel_wise:
        assert (tau <= a + 1e-6).all()
    else:
        assert (tau <= a.mean(1, keepdim=True) + 1e-6).all()
    y = m(x)
    t = tau.detach().unsqueeze(-1).expand_as(x)
    small = x.detach().abs() <= t
    assert (y[small] == 0).all()
    ref = torch.sign(x.detach()) * torch.clamp(x.detach().abs() - t, min=0)
    assert torch.allclose(y.detach(), ref, atol=1e-6)
    # d y / d x is 1 where |x| > tau and 0 where |x| < tau (the paper's derivation)
    m.eval()
    x2 = x.detach().clone().requires_grad_(True)
    with torch.no_grad():
        tau2 = m.thresholds(x2)[1].unsqueeze(-1).expand_as(x2)
    grad = torch.autograd.functional.jacobian(lambda z: (z - torch.clamp(z, -tau2, tau2)).sum(), x2)
    assert torch.equal(grad[x2.abs() > tau2], torch.ones_like(grad[x2.abs() > tau2]))
    assert torch.equal(grad[x2.abs() < tau2], torch.zeros_like(grad[x2.abs() < tau2]))


def test_resnet_and_drsn_differ_only_by_shrinkage():
    r, d = create_model("resnet", 10), create_model("drsn_cw", 10)
    assert len(d.shrinkage_modules()) == 12 and len(r.shrinkage_modules()) == 0


@pytest.mark.parametrize("kw", [{}, {"width": 2.0, "units_per_stage": 2}])
def test_se_resnet_is_drsn_cw_with_scaling_instead_of_thresholds(kw):
    se, cw = create_model("se_resnet", 10, **kw), create_model("drsn_cw", 10, **kw)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(se) == count(cw)
    se.load_state_dict(cw.state_dict())  # the same skeleton and subnetwork, parameter by parameter
    mods = se.shrinkage_modules()
    assert len(mods) == len(cw.shrinkage_modules()) and all(isinstance(m, Scaling) for m in mods)
    for m in mods:
        m.record = True
    se.eval()(torch.randn(2, 1, 1024))
    assert all(m.last_alpha.shape == (2, m.fc[0].in_features) and m.last_tau is None for m in mods)


def test_scaling_output_is_alpha_times_x_and_zeroes_nothing():
    torch.manual_seed(2)
    se, st = Scaling(8).train(), Shrinkage(8, channel_wise=True).train()
    st.load_state_dict(se.state_dict())  # the very same subnetwork weights
    x = torch.randn(16, 8, 100) * torch.rand(16, 8, 1) * 3
    se.record = True
    y = se(x)
    alpha = se.last_alpha
    assert alpha.shape == (16, 8) and (alpha > 0).all() and (alpha < 1).all()
    assert torch.allclose(alpha, se.fc(x.abs().mean(-1)))
    assert torch.allclose(y, alpha.unsqueeze(-1) * x)
    assert torch.equal(torch.sign(y), torch.sign(x)) and (y != 0).all()
    assert (st(x) == 0).float().mean() > 0.2  # soft thresholding with the same alpha zeroes features


@pytest.mark.parametrize("tau_channels", [5, 1])  # channel-wise and channel-shared thresholds
def test_soft_threshold_backward_equals_autograd_of_the_formula(tau_channels):
    from drsn_fd.models.shrinkage import soft_threshold

    torch.manual_seed(0)
    x = torch.randn(3, 5, 40, dtype=torch.double, requires_grad=True)
    tau = (torch.rand(3, tau_channels, 1, dtype=torch.double) * 0.8).requires_grad_()
    assert torch.autograd.gradcheck(soft_threshold, (x, tau))
    g = torch.randn(3, 5, 40, dtype=torch.double)
    gx, gtau = torch.autograd.grad(soft_threshold(x, tau), (x, tau), g)
    ref = torch.sign(x) * torch.relu(x.abs() - tau)
    rx, rtau = torch.autograd.grad(ref, (x, tau), g)
    assert torch.equal(soft_threshold(x, tau), x - torch.clamp(x, -tau, tau))
    assert torch.allclose(soft_threshold(x, tau), ref)
    assert torch.allclose(gx, rx) and torch.allclose(gtau, rtau)


def test_wdcnn_pools_like_adaptive_max_pool_and_refuses_a_window_too_short(cfg_factory):
    from drsn_fd.errors import ConfigError
    from drsn_fd.models.wdcnn import adaptive_max_pool
    from drsn_fd.validate import check_config

    x = torch.randn(3, 5, 37)
    assert torch.equal(adaptive_max_pool(x, 3), torch.nn.AdaptiveMaxPool1d(3)(x))
    with pytest.raises(ConfigError, match=r"data.window=512 is shorter than model wdcnn takes \(at least 1024"):
        check_config(cfg_factory("model=wdcnn", "data.window=512", tiny=False))


def test_a_model_config_key_that_is_no_size_is_refused(cfg_factory):
    from drsn_fd.errors import ConfigError
    from drsn_fd.validate import check_config

    with pytest.raises(ConfigError, match="'depth' is not a size of model 'drsn_cw'"):
        check_config(cfg_factory("+model.depth=3"))
