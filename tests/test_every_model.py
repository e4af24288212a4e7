"""Every registered model, end to end on the simulated set: one tiny epoch of training, TorchScript
and ONNX exports that compute what the eager model computes, and drsn-inspect (or its refusal).

The models come from the registry, so a new model is picked up by itself; the report's facts
about each (family, order, colour) come from the same entries.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from drsn_fd.models import create_model, list_models, model_entry
from drsn_fd.models.shrinkage import shrinkage_units
from drsn_fd.train.loop import run
from tests.helpers import TINY, assert_refused, cli_env, command, make_cfg, metrics

TOLERANCE = 1e-4  # largest |exported - eager| logit


def tiny_overrides(name: str) -> list[str]:
    """TINY for model `name`: one epoch, no TensorBoard; the unit count only where the model has one.

    Windows of 1024 samples: wdcnn's five conv + pool stages need that many.
    """
    sizes = model_entry(name).sizes
    keep = [o for o in TINY if not o.startswith("model.") or o.split("=")[0].split(".")[1] in sizes]
    return [*keep, "data.window=1024", f"model={name}", "trainer.epochs=1", "logger.enabled=false"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """name -> (run folder, its record): each model trained once for this module, when first asked."""
    runs: dict[str, tuple] = {}

    def get(name: str):
        if name not in runs:
            folder = tmp_path_factory.mktemp(name)
            runs[name] = folder, run(make_cfg(*tiny_overrides(name), tiny=False), folder)
        return runs[name]

    return get


def _test_windows(folder) -> torch.Tensor:
    """Up to 64 test windows of the run's data config, noisy at 0 dB as its test scored them."""
    from drsn_fd.data.pipeline import NoisyWindows
    from drsn_fd.data.windows import build_windows

    cfg = OmegaConf.create(metrics(folder)["config"])
    return NoisyWindows(build_windows(cfg.data), cfg, torch.device("cpu")).fixed("test", "gaussian", 0.0)[:64]


def test_the_exports_are_compared_on_noisy_simulated_test_windows(trained):
    x = _test_windows(trained("drsn_cw")[0])
    assert x.shape[1:] == (1, 1024) and len(x) >= 8 and torch.isfinite(x).all()


@pytest.mark.parametrize("name", list_models())
def test_every_model_trains_an_epoch_and_its_checkpoint_builds_it(name, trained):
    from drsn_fd.models.checkpoint import load_model

    folder, rec = trained(name)
    assert rec["status"] == "completed" and rec["model"] == name and len(rec["history"]) == 1
    assert rec["data"]["windows"]["train"] >= 1 and math.isfinite(rec["history"][0]["train_loss"])
    assert 0.0 <= rec["test"]["best"]["acc"] <= 1.0
    model, ck = load_model(folder / "checkpoints" / "best.pt")
    assert ck["model"] == name and type(model) is type(create_model(name, len(ck["classes"])))


def _eager_and_windows(folder):
    from drsn_fd.models.checkpoint import load_model

    ckpt = folder / "checkpoints" / "best.pt"
    return ckpt, load_model(ckpt)[0].eval(), _test_windows(folder)


@pytest.mark.parametrize("name", list_models())
@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_every_model_exports_to_torchscript_with_the_eager_outputs(name, trained, tmp_path):
    from drsn_fd.deploy.export import export_model

    ckpt, model, x = _eager_and_windows(trained(name)[0])
    scripted = torch.jit.load(str(export_model(ckpt, "torchscript", tmp_path / "m.torchscript.pt")))
    for batch in (x, x[:1]):  # any batch size
        with torch.inference_mode():
            eager = model(batch)
            got = scripted(batch)
        assert got.shape == eager.shape and (got - eager).abs().max() < TOLERANCE


@pytest.mark.parametrize("name", list_models())
def test_every_model_exports_to_onnx_with_the_eager_outputs(name, trained, tmp_path):
    from drsn_fd.deploy.export import export_model

    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'drsn_fd[deploy]')")
    pytest.importorskip("onnxscript", reason="onnxscript is not installed (pip install 'drsn_fd[deploy]')")
    ckpt, model, x = _eager_and_windows(trained(name)[0])
    session = ort.InferenceSession(str(export_model(ckpt, "onnx", tmp_path / "m.onnx")),
                                   providers=["CPUExecutionProvider"])
    for batch in (x, x[:1]):  # any batch size
        with torch.inference_mode():
            eager = model(batch).numpy()
        got = session.run(None, {"windows": batch.numpy()})[0]
        assert got.shape == eager.shape and np.abs(got - eager).max() < TOLERANCE


def _has_units(name: str) -> bool:
    return bool(shrinkage_units(create_model(name, 2)))


@pytest.mark.parametrize("name", [m for m in list_models() if _has_units(m)])
def test_every_model_with_shrinkage_or_scaling_units_is_inspected_on_its_test_windows(name, trained):
    """One row per unit and SNR, alpha in (0, 1), and the accuracy of the run's own robustness curve."""
    from drsn_fd.evaluate.inspect import inspect_thresholds

    folder, rec = trained(name)
    res = inspect_thresholds(folder / "checkpoints" / "best.pt", [], folder / "inspect")
    t = res["table"]
    units = len(shrinkage_units(create_model(name, 2, units_per_stage=1)))
    snrs = sorted(float(s) for s in rec["config"]["eval"]["snrs"])
    assert sorted(zip(t["unit"], t["snr_db"], strict=True)) == [(u, s) for u in range(1, units + 1) for s in snrs]
    assert ((t["alpha_mean"] > 0) & (t["alpha_mean"] < 1)).all()
    assert ((t["zero_fraction"] >= 0) & (t["zero_fraction"] <= 1)).all()
    assert (folder / "inspect" / "thresholds.csv").is_file() and (folder / "inspect" / "thresholds.png").is_file()
    curve = {p["snr"]: p["acc"] for p in rec["robustness"] if p["kind"] == "gaussian"}
    assert {r.snr_db: r.acc for r in res["accuracy"].itertuples()} == {s: curve[s] for s in snrs}


@pytest.mark.parametrize("name", [m for m in list_models() if not _has_units(m)])
def test_every_model_without_units_is_refused_by_drsn_inspect_in_one_line(name, trained):
    import subprocess

    folder, _ = trained(name)
    ckpt = folder / "checkpoints" / "best.pt"
    p = subprocess.run([command("drsn-inspect"), f"checkpoint={ckpt}", f"out={folder / 'inspect'}"],
                       capture_output=True, text=True, timeout=600, env=cli_env())
    assert_refused(p, str(ckpt), f"model {name!r} has no shrinkage units")
    assert not (folder / "inspect").exists()


# ---- the report's facts about each model are the registry's ----------------------------------

def test_the_report_orders_colours_and_pairs_models_by_their_registry_entries():
    from drsn_fd.evaluate.plots import EXTRA_COLOURS, model_colour
    from drsn_fd.evaluate.stats import (
        baselines,
        drsn_models,
        figure_baseline,
        is_drsn,
        order_models,
    )

    names = list_models()
    assert order_models(reversed(names)) == names
    assert [model_colour(m) for m in names] == [model_entry(m).colour for m in names]
    assert len({model_colour(m) for m in names}) == len(names)  # a colour of its own
    assert not {model_colour(m) for m in names} & set(EXTRA_COLOURS)
    assert [m for m in names if is_drsn(m)] == list(drsn_models()) == [m for m in names if model_entry(m).family == "drsn"]
    assert list(baselines()) == [m for m in names if model_entry(m).family in ("baseline", "control")]
    assert model_entry(figure_baseline()).family == "baseline"
    assert {"drsn_cw", "drsn_cs"} <= set(drsn_models()) and {"resnet", "se_resnet"} <= set(baselines())


def test_a_model_an_old_run_names_but_the_registry_no_longer_holds_is_reported(tmp_path):
    """An unregistered name gets the last place, a fixed fallback colour, and is paired only if drsn*."""
    from drsn_fd.evaluate.plots import EXTRA_COLOURS, model_colour
    from drsn_fd.evaluate.report import make_report
    from drsn_fd.evaluate.stats import is_drsn, order_models
    from tests.test_report import metrics, write_run

    assert order_models(["lstm_old", "drsn_old", "resnet"]) == ["resnet", "drsn_old", "lstm_old"]
    assert model_colour("lstm_old") == model_colour("lstm_old") in EXTRA_COLOURS
    assert is_drsn("drsn_old") and not is_drsn("lstm_old")
    for model in ("resnet", "drsn_old", "lstm_old"):
        for seed in (0, 1):
            write_run(tmp_path / "sweep", metrics(model, "matched", -4, -4, seed, 0.5 + 0.1 * seed))
    text = make_report([tmp_path / "sweep"])
    assert "lstm_old" in text and "drsn_old" in text
    assert (tmp_path / "sweep" / "acc_vs_snr_gaussian.png").is_file()
    paired = (tmp_path / "sweep" / "results_paired.csv").read_text()
    assert "drsn_old" in paired and "lstm_old" not in paired
