"""Noise: exact realised SNR, spectral shape, distribution, and seeded test noise.

The tests of every kind loop over the noise registry: a new kind is picked up by itself.
"""

from importlib.resources import files

import numpy as np
import pytest
import torch
from scipy.signal import welch
from scipy.stats import kurtosis
from scipy.stats import t as student

from drsn_fd.data.noise import (
    NO_NOISE,
    add_noise,
    check_noise_params,
    derived_seed,
    generator,
    impulsive,
    list_noise_kinds,
    noise_defaults,
    realised_snr_db,
    unit_noise,
)
from drsn_fd.data.normalize import normalize


@pytest.fixture(scope="module")
def clean():
    g = torch.Generator().manual_seed(0)
    t = torch.arange(2048) / 12000
    amp = torch.rand(64, 1, 1, generator=g) * 5 + 0.1
    return amp * torch.sin(2 * torch.pi * 157 * t) + 0.3 * amp * torch.randn(64, 1, 2048, generator=g)


@pytest.mark.parametrize("kind", list_noise_kinds())
@pytest.mark.parametrize("snr", [-10.0, 0.0, 10.0])
def test_realised_snr_of_every_window_is_exact(clean, kind, snr):
    noisy = add_noise(clean, snr, kind, generator(1))
    r = realised_snr_db(clean, noisy)
    assert r.shape == (64, 1)
    assert torch.all((r - snr).abs() < 0.01), (r - snr).abs().max()


def test_per_window_snr_tensor(clean):
    snr = torch.linspace(-10, 10, 64).reshape(64, 1, 1)
    r = realised_snr_db(clean, add_noise(clean, snr, "gaussian", generator(2)))
    assert torch.allclose(r.squeeze(), snr.squeeze().double(), atol=0.01)


def _slope(kind: str) -> float:
    x = unit_noise((256, 8192), kind, generator(3)).numpy()
    f, p = welch(x, fs=1.0, nperseg=2048, axis=-1)
    p = p.mean(0)
    band = (f > 0.005) & (f < 0.2)
    return float(np.polyfit(np.log10(f[band]), np.log10(p[band]), 1)[0])


def test_pink_noise_spectral_slope_is_minus_one():
    assert -1.1 <= _slope("pink") <= -0.9


@pytest.mark.parametrize("kind", ["gaussian", "laplacian"])
def test_white_noise_is_flat(kind):
    assert abs(_slope(kind)) < 0.1


def test_laplacian_excess_kurtosis_near_three():
    x = unit_noise((1_000_000,), "laplacian", generator(4)).numpy()
    assert abs(kurtosis(x) - 3.0) < 0.2
    assert abs(kurtosis(unit_noise((1_000_000,), "gaussian", generator(4)).numpy())) < 0.05


def test_impulse_count_is_binomial_and_impulses_have_the_asked_variance():
    n, rate, ratio = 1_000_000, 0.01, 100.0
    noise, mask = impulsive((n,), generator(6), rate=rate, ratio=ratio)
    count = int(mask.sum())
    assert abs(count - rate * n) <= 3 * (n * rate * (1 - rate)) ** 0.5, count
    assert abs(float(noise[mask].var()) / (1 + ratio) - 1) < 0.05
    assert abs(float(noise[~mask].var()) - 1) < 0.01
    # unit_noise draws exactly this noise, with the parameters from `params`
    again = unit_noise((n,), "impulsive", generator(6), params={"impulse_rate": rate, "impulse_ratio": ratio})
    assert torch.equal(again, noise)
    rarer = impulsive((n,), generator(6), rate=0.001)[1]
    assert abs(int(rarer.sum()) - 1000) <= 3 * (n * 0.001 * 0.999) ** 0.5


def test_student_t_has_the_tails_of_its_degrees_of_freedom():
    x = unit_noise((1_000_000,), "student_t", generator(5), params={"dof": 5}).numpy()
    laplace = unit_noise((1_000_000,), "laplacian", generator(5)).numpy()
    assert kurtosis(x) > 4.5 and kurtosis(laplace) < 3.5  # excess kurtosis 6 and 3
    assert abs(x.var() / (5 / 3) - 1) < 0.02  # dof / (dof - 2)
    for q in (0.9, 0.99, 0.999):
        assert np.quantile(np.abs(x), q) == pytest.approx(student.ppf(0.5 + q / 2, 5), rel=0.03)
    heavier = unit_noise((1_000_000,), "student_t", generator(5), params={"dof": 3}).numpy()
    assert np.quantile(np.abs(heavier), 0.999) == pytest.approx(student.ppf(0.9995, 3), rel=0.05)
    assert unit_noise((1_000_000,), "student_t", generator(5)).numpy() == pytest.approx(heavier)  # default dof 3


@pytest.mark.parametrize("key, value", [("impulse_rate", 0), ("impulse_rate", 1), ("impulse_rate", -0.1),
                                        ("impulse_ratio", 0), ("impulse_ratio", -5), ("dof", 2), ("dof", 1.5),
                                        ("dof", float("nan")), ("dof", float("inf")), ("impulse_ratio", "100"),
                                        ("impulse_rate", None), ("dof", True)])
def test_bad_noise_parameters_are_refused_naming_the_key(clean, key, value):
    with pytest.raises(ValueError, match=rf"^noise\.{key}=") as e:
        check_noise_params({key: value})
    assert "\n" not in str(e.value)
    kind = "student_t" if key == "dof" else "impulsive"
    with pytest.raises(ValueError, match=rf"noise\.{key}="):
        add_noise(clean, 0.0, kind, generator(0), params={key: value})


def test_good_noise_parameters_pass():
    check_noise_params({"impulse_rate": 0.5, "impulse_ratio": 1e-3, "dof": 2.01, "kind": "gaussian"})
    check_noise_params({})
    assert list_noise_kinds() == ["gaussian", "laplacian", "pink", "impulsive", "student_t"]  # display order


@pytest.mark.parametrize("kind", ["impulsive", "student_t"])
def test_new_kinds_same_seed_same_noise(clean, kind):
    params = {"impulse_rate": 0.05, "impulse_ratio": 10, "dof": 4.5}
    a = add_noise(clean, -4.0, kind, generator(7), params)
    assert torch.equal(a, add_noise(clean, -4.0, kind, generator(7), params))
    assert not torch.allclose(a, add_noise(clean, -4.0, kind, generator(8), params))
    assert not torch.allclose(a, add_noise(clean, -4.0, kind, generator(7)))  # the parameters matter


def test_same_seed_same_noise_other_seed_other_noise(clean):
    s = derived_seed(0, "test", "gaussian", -4.0)
    a = add_noise(clean, -4.0, "gaussian", generator(s))
    b = add_noise(clean, -4.0, "gaussian", generator(s))
    c = add_noise(clean, -4.0, "gaussian", generator(derived_seed(1, "test", "gaussian", -4.0)))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert derived_seed(0, "val", "gaussian", -4.0) != s
    assert derived_seed(0, "test", "pink", -4.0) != s


def test_an_snr_written_as_int_or_float_gives_the_same_test_noise(cfg_factory):
    """noise.snr=-4 (a matched run) and -4.0 (a point of eval.snrs) must be the same windows."""
    from drsn_fd.data.pipeline import NoisyWindows
    from drsn_fd.data.windows import build_windows

    assert derived_seed(0, "test", "gaussian", -4) == derived_seed(0, "test", "gaussian", -4.0)
    assert derived_seed(0, "train", "gaussian", [-10, 10], 1) == derived_seed(0, "train", "gaussian", [-10.0, 10.0], 1)
    cfg = cfg_factory()
    ws = build_windows(cfg.data)
    a = NoisyWindows(ws, cfg, torch.device("cpu")).fixed("test", "gaussian", -4)
    b = NoisyWindows(ws, cfg, torch.device("cpu")).fixed("test", "gaussian", -4.0)
    assert torch.equal(a, b)


def test_none_kind_returns_clean(clean):
    assert torch.equal(add_noise(clean, 0.0, "none", generator(0)), clean)


def test_unknown_kind_is_refused(clean):
    with pytest.raises(ValueError, match="unknown noise kind 'brown'"):
        add_noise(clean, 0.0, "brown", generator(0))


def test_device_noise_matches_reference_implementation(clean):
    """The batched torch path equals a plain per-window numpy computation on the same draw."""
    snr = -3.0
    noise = unit_noise(tuple(clean.shape), "gaussian", generator(5)).numpy()
    ref = []
    for x, n in zip(clean.numpy(), noise, strict=True):
        scale = np.sqrt(np.mean(x**2) / 10 ** (snr / 10) / np.mean(n**2))
        y = x + n * scale
        ref.append((y - y.mean()) / (y.std() + 1e-8))
    fast = normalize(add_noise(clean, snr, "gaussian", generator(5)), "zscore")
    np.testing.assert_allclose(fast.numpy(), np.stack(ref), atol=1e-4)


def test_normalisations(clean):
    z = normalize(clean, "zscore")
    assert torch.allclose(z.mean(-1), torch.zeros(64, 1), atol=1e-5)
    assert torch.allclose(z.std(-1, unbiased=False), torch.ones(64, 1), atol=1e-4)
    m = normalize(clean, "minmax")
    assert torch.allclose(m.amin(-1), -torch.ones(64, 1), atol=1e-5)
    assert torch.allclose(m.amax(-1), torch.ones(64, 1), atol=1e-5)
    assert torch.equal(normalize(clean, "none"), clean)


def test_the_new_kinds_are_accepted_by_eval_kinds_and_scored(tmp_path):
    """eval.kinds takes impulsive and student_t: the robustness curve scores both at each SNR."""
    from drsn_fd.train.loop import run
    from tests.helpers import make_cfg

    m = run(make_cfg("trainer.epochs=1", "eval.kinds=[impulsive,student_t]", "noise=impulsive", "noise.snr=0"),
            tmp_path)
    assert m["noise"]["kind"] == "impulsive"
    assert [(p["kind"], p["snr"]) for p in m["robustness"]] == [
        ("clean", None), ("impulsive", -4.0), ("impulsive", 0.0), ("student_t", -4.0), ("student_t", 0.0)]
    curve = {(p["kind"], p["snr"]): p["acc"] for p in m["robustness"]}
    assert curve[("impulsive", 0.0)] == m["test"]["best"]["acc"]  # the test split is that very point


# ---- the registry: every kind, and a kind added in one module -----------------------------------

# unit_noise((2, 64), kind, generator(2024))[1, :3], as drawn before the kinds had a registry:
# a change here changes every published noisy test set
PINNED = {"gaussian": [0.317056, -1.871595, -0.089449], "laplacian": [-0.795001, 2.084992, -3.248878],
          "pink": [-0.234009, -0.660387, -0.227158], "impulsive": [0.737018, -0.208353, 1.895499],
          "student_t": [0.3495, -2.907053, -0.096538]}


@pytest.mark.parametrize("kind", sorted(PINNED))
def test_each_kind_draws_what_it_drew_before(kind):
    got = unit_noise((2, 64), kind, generator(2024))[1, :3].tolist()
    assert got == pytest.approx(PINNED[kind], abs=2e-6)


def _another_value(p):
    """An allowed value of parameter `p` other than its default."""
    return next(v for v in (p.default * 1.5, p.default / 1.5) if p.ok(v))


@pytest.mark.parametrize("kind", list_noise_kinds())
def test_every_kind_same_seed_same_noise_and_its_parameters_matter(clean, kind):
    from drsn_fd.data.noise import noise_kind

    a = add_noise(clean, -4.0, kind, generator(7))
    assert a.shape == clean.shape and a.dtype == clean.dtype and torch.isfinite(a).all()
    assert torch.equal(a, add_noise(clean, -4.0, kind, generator(7)))
    assert not torch.allclose(a, add_noise(clean, -4.0, kind, generator(8)))
    for key, p in noise_kind(kind).params.items():
        assert torch.equal(a, add_noise(clean, -4.0, kind, generator(7), {key: p.default}))
        assert not torch.allclose(a, add_noise(clean, -4.0, kind, generator(7), {key: _another_value(p)}))


def test_every_kind_has_its_config_which_holds_only_its_name():
    """configs/noise/<kind>.yaml for each registered kind, plus none.yaml and _base.yaml (and no other).

    A kind's YAML names its kind over _base.yaml, which holds the keys every noise config shares;
    their parameter defaults are the registry's.
    """
    from omegaconf import OmegaConf

    from tests.helpers import make_cfg

    folder = files("drsn_fd.configs") / "noise"
    yamls = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))
    assert yamls == sorted([*list_noise_kinds(), NO_NOISE, "_base"])
    for kind in list_noise_kinds():
        own = OmegaConf.to_container(OmegaConf.create((folder / f"{kind}.yaml").read_text()))
        assert own == {"defaults": ["_base", "_self_"], "kind": kind}
    for kind in [*list_noise_kinds(), NO_NOISE]:
        noise = make_cfg(f"noise={kind}", tiny=False).noise
        assert noise.kind == kind and {k: noise[k] for k in noise_defaults()} == noise_defaults()
        assert set(noise) == {"kind", "snr", "train_snr", "fixed_train", *noise_defaults()}


def test_a_kind_registered_in_one_module_is_drawn_at_the_exact_snr_and_checked(clean, monkeypatch):
    """What a new kind's module does (register a draw and its parameters) is all the checks need."""
    from omegaconf import OmegaConf

    from drsn_fd.data.noise import registry
    from drsn_fd.errors import ConfigError
    from drsn_fd.validate import check_eval, check_noise

    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))

    @registry.register_noise("uniform", order=99, params={"width": registry.Param(1.0, lambda v: v > 0, "a number > 0")})
    def uniform(shape, gen, device="cpu", width=1.0):
        return (torch.rand(shape, generator=gen, device=device) - 0.5) * width

    assert list_noise_kinds()[-1] == "uniform"
    r = realised_snr_db(clean, add_noise(clean, -3.0, "uniform", generator(0), {"width": 2}))
    assert torch.all((r + 3).abs() < 0.01)
    noise = {"kind": "uniform", "snr": -3, "train_snr": -3, "fixed_train": False, "width": 2, **noise_defaults()}
    check_noise(OmegaConf.create(noise))
    check_eval(OmegaConf.create({"snrs": [0], "kinds": ["uniform", "gaussian"]}))
    with pytest.raises(ConfigError, match=r"^noise\.width=0 is not allowed; it must be a number > 0$"):
        check_noise(OmegaConf.create({**noise, "width": 0}))
    with pytest.raises(ConfigError, match="allowed: gaussian, laplacian, pink, impulsive, student_t, uniform, none$"):
        check_noise(OmegaConf.create({**noise, "kind": "brown"}))
    with pytest.raises(ValueError, match="parameter 'dof' differs from that of kind 'student_t'"):
        registry.register_noise("t2", order=100, params={"dof": registry.Param(5.0, lambda v: v > 2, "> 2")})
