"""drsn-evaluate adapt=bn: AdaBN on the unlabelled target windows, transductive and inductive, beside none.

The oracles are computed here: window counts from the record lengths, the target windows cut and
z-scored with numpy, each BatchNorm layer's input statistics read with forward hooks, the paired
statistics of the report from the numbers written into the fixture records.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from drsn_fd.data.pipeline import NoisyWindows
from drsn_fd.data.simulated import simulate
from drsn_fd.errors import ConfigError
from drsn_fd.evaluate import adapt as adapt_module
from drsn_fd.evaluate.adapt_report import adapt_table
from drsn_fd.evaluate.collect import collect
from drsn_fd.evaluate.report import make_report
from drsn_fd.evaluate.rescore import evaluate_config, rescore
from drsn_fd.evaluate.stats import run_table
from drsn_fd.evaluate.target import target_windows
from drsn_fd.models.batchnorm import batchnorm_layers
from drsn_fd.models.checkpoint import load_model
from drsn_fd.train.loop import run
from tests.helpers import bn_input_stats, cli_env, command, make_cfg

SECONDS, FS, WINDOW, STRIDE = 2.0, 12000, 512, 256  # the new folder, and TINY's window and eval stride
BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
T975 = {2: 4.302652729911275}  # t(0.975, 2)


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny drsn_cw checkpoint trained on the simulated set (seed 0), and a simulated folder of seed 1."""
    base = tmp_path_factory.mktemp("adapt")
    run(make_cfg("trainer.epochs=1", "logger.enabled=false"), base / "run")
    return base / "run" / "checkpoints" / "best.pt", simulate(base / "other", seed=1, seconds=SECONDS)


@pytest.fixture
def captured(monkeypatch) -> list[tuple[str, torch.Tensor, torch.nn.Module]]:
    """Every adaptation of an evaluation: (form, the windows it adapted on, the adapted copy)."""
    calls = []
    real = adapt_module.adapted

    def spy(model, x, form):
        copy = real(model, x, form)
        calls.append((form, x.detach().clone(), copy))
        return copy

    monkeypatch.setattr(adapt_module, "adapted", spy)
    return calls


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def evaluate(setup, tmp_path, **kw) -> dict:
    ckpt, other = setup
    return rescore(ckpt, [f"data.root={other}"], tmp_path / "ev", data="cwru", adapt="bn", **kw)


def by_hand(samples: int) -> tuple[int, int, int]:
    """(windows, first half, second half) of a record of `samples`: the second half shares no sample with the first."""
    n = (samples - WINDOW) // STRIDE + 1
    k = n // 2
    first_free = (k - 1) * STRIDE + WINDOW  # the first sample after the first half
    return n, k, sum(1 for j in range(k, n) if j * STRIDE >= first_free)


def test_forms_on_the_same_windows_counted_by_hand_and_the_checkpoint_unchanged(setup, tmp_path):
    ckpt, _ = setup
    before = sha(ckpt)
    m = evaluate(setup, tmp_path)
    assert sha(ckpt) == before
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["adapt"] == m["adapt"]
    records = m["data"]["records"]
    assert len(records) == 10 and all(r["samples"] == int(SECONDS * FS) for r in records)
    counts = [by_hand(r["samples"]) for r in records]
    a = m["adapt"]
    assert a["method"] == "bn" and a["all"]["windows"] == m["test"]["best"]["n"] == sum(c[0] for c in counts)
    assert a["paired"]["windows"] == sum(c[2] for c in counts)
    assert set(a["paired"]["test"]) == {"none", "bn_transductive", "bn_inductive"}
    assert all(t["n"] == a["paired"]["windows"] for t in a["paired"]["test"].values())
    assert a["all"]["test"]["bn_transductive"]["n"] == a["all"]["windows"]
    points = [(p["kind"], p["snr"]) for p in m["robustness"]]
    for scope in ("paired", "all"):
        for curve in a[scope]["robustness"].values():
            assert [(p["kind"], p["snr"]) for p in curve] == points
    for h, (n, k, second) in zip(a["halves"], counts, strict=True):
        assert (h["windows"], h["adapt"]["windows"], h["score"]["windows"]) == (n, k, second)
        assert h["adapt"]["samples"][1] <= h["score"]["samples"][0]  # no sample adapted on is scored
        assert h["adapt"]["samples"][0] == 0 and h["score"]["samples"][1] == (n - 1) * STRIDE + WINDOW


def test_inductive_adapts_on_exactly_the_first_halves_at_each_noise_point(setup, tmp_path, captured):
    ckpt, other = setup
    m = evaluate(setup, tmp_path)
    _, ck = load_model(ckpt)
    cfg = evaluate_config(ck["config"], [f"data.root={other}"], ckpt, "cwru")
    ws, _ = target_windows(cfg, ck["config"])
    # the first halves, cut by hand from the record signals and z-scored: the clean point's adaptation windows
    clean = []
    for rec in ws.records:
        n, k, _ = by_hand(len(rec.signal))
        for j in range(k):
            w = rec.signal[j * STRIDE:j * STRIDE + WINDOW].astype(np.float64)
            clean.append((w - w.mean()) / (w.std() + 1e-8))
    clean = np.stack(clean)
    inductive = [x for form, x, _ in captured if form == "bn_inductive"]
    points = [(cfg.noise.kind, float(cfg.noise.snr))] + [
        ("none" if p["snr"] is None else p["kind"], p["snr"]) for p in m["robustness"]]
    assert len(inductive) == len(points)  # once per point: the test noise, then each point of the curve
    windows = NoisyWindows(ws, cfg, torch.device("cpu"))
    first = torch.as_tensor(adapt_module.record_halves(ws.splits["test"], WINDOW).first)
    assert len(first) == len(clean)
    for x, (kind, snr) in zip(inductive, points, strict=True):
        assert torch.equal(x, windows.fixed("test", kind, snr)[first])  # the noisy windows of that very SNR
    np.testing.assert_allclose(inductive[1][:, 0].double().numpy(), clean, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(inductive[0], inductive[1])  # noisy statistics are not the clean ones


def test_only_batchnorm_buffers_change_and_they_are_each_layers_input_statistics(setup, tmp_path, captured):
    ckpt, _ = setup
    evaluate(setup, tmp_path)
    state = torch.load(ckpt, weights_only=True)["model_state"]
    assert {form for form, _, _ in captured} == {"bn_transductive", "bn_inductive", "bn_transductive (all windows)"}
    for form, x, model in captured[:3] + captured[-3:]:
        after = model.state_dict()
        assert after.keys() == state.keys()
        for key, value in state.items():
            if key.rsplit(".", 1)[-1] not in BN_BUFFERS:
                assert torch.equal(value, after[key]), (form, key)
        assert any(not torch.equal(state[k], after[k]) for k in state if k.endswith("running_mean")), form
        layers, seen = batchnorm_layers(model), bn_input_stats(model, x)
        assert len(seen) == len(layers)
        for layer, (mean, var) in zip(layers, seen, strict=True):
            torch.testing.assert_close(layer.running_mean.double(), mean, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(layer.running_var.double(), var, rtol=1e-5, atol=1e-6)


def test_the_own_split_adapts_too_and_the_cli_prints_every_form(setup, tmp_path):
    ckpt, _ = setup
    m = rescore(ckpt, ["eval.snrs=[0]"], tmp_path / "own", adapt="bn")
    assert m["data"]["split_protocol"] == "within-record (time split)"
    assert m["adapt"]["all"]["windows"] == m["test"]["best"]["n"]
    p = subprocess.run([command("drsn-evaluate"), f"checkpoint={ckpt}", "adapt=bn", "eval.snrs=[0]",
                        f"out={tmp_path / 'cli'}"], capture_output=True, text=True, timeout=600, env=cli_env())
    assert p.returncode == 0, p.stderr[-2000:]
    assert "none " in p.stdout and "bn_transductive " in p.stdout and "bn_inductive " in p.stdout
    assert json.loads((tmp_path / "cli" / "metrics.json").read_text())["adapt"]["paired"] == m["adapt"]["paired"]


def test_adapt_takes_none_or_bn(setup, tmp_path):
    ckpt, _ = setup
    with pytest.raises(ConfigError, match="adapt='foo' is unknown; allowed: none, bn"):
        rescore(ckpt, [], tmp_path / "x", adapt="foo")
    assert "adapt" not in rescore(ckpt, ["eval.snrs=[0]"], tmp_path / "plain")


def _record(model: str, seed: int, none: float, inductive: float, transductive: float) -> dict:
    """An evaluation record with an adapt part (accuracies at the clean point; the test noise 0 dB)."""
    def test(acc):
        return {"acc": acc, "macro_f1": acc, "n": 10}

    def curve(acc):
        return [{"kind": "clean", "snr": None, "acc": acc, "macro_f1": acc},
                {"kind": "gaussian", "snr": 0.0, "acc": acc - 0.1, "macro_f1": acc}]

    paired = {"none": none, "bn_transductive": transductive, "bn_inductive": inductive}
    return {"status": "completed", "protocol": "evaluate", "model": model, "seed": seed,
            "data": {"name": "CWRU", "split_protocol": "new data: CWRU /x (whole records)", "classes": ["a", "b"],
                     "window": 512},
            "noise": {"kind": "gaussian", "snr": 0.0, "train_snr": 0.0, "fixed_train": False},
            "test": {"best": test(none - 0.1)}, "robustness": curve(none),
            "adapt": {"method": "bn",
                      "paired": {"windows": 10, "test": {f: test(a - 0.1) for f, a in paired.items()},
                                 "robustness": {f: curve(a) for f, a in paired.items()}},
                      "all": {"windows": 20, "test": {"bn_transductive": test(transductive - 0.1)},
                              "robustness": {"bn_transductive": curve(transductive)}}}}


def test_the_report_pairs_adapt_bn_with_none_over_seeds(tmp_path):
    rows = {0: (0.50, 0.60, 0.70), 1: (0.40, 0.55, 0.40), 2: (0.62, 0.60, 0.80)}  # none, inductive, transductive
    for seed, accs in rows.items():
        folder = tmp_path / f"seed={seed}"
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps(_record("drsn_cw", seed, *accs)))
    runs = collect([tmp_path])
    table = adapt_table(runs, run_table(runs))
    clean = table[(table["form"] == "bn_inductive") & (table["point"] == "clean")].iloc[0]
    d = [rows[s][1] - rows[s][0] for s in rows]
    half = T975[2] * statistics.stdev(d) / math.sqrt(3)
    assert clean["n_pairs"] == 3 and clean["windows"] == "second halves"
    assert math.isclose(clean["diff_mean"], statistics.mean(d), abs_tol=1e-12)
    assert math.isclose(clean["t_low"], statistics.mean(d) - half, abs_tol=1e-9)
    assert (clean["adapt_better"], clean["none_better"], clean["ties"]) == (2, 1, 0)
    assert math.isclose(clean["none_mean"], statistics.mean(rows[s][0] for s in rows), abs_tol=1e-12)
    assert math.isclose(clean["p"], stats.ttest_1samp(d, 0.0).pvalue, rel_tol=1e-9)
    assert table["p_holm"].max() <= 1 and (table["p_holm"].dropna() >= table["p"].dropna()).all()
    trans = table[(table["form"] == "bn_transductive") & (table["windows"] == "second halves")
                  & (table["point"] == "gaussian 0 dB")].iloc[0]
    assert (trans["adapt_better"], trans["none_better"], trans["ties"]) == (2, 0, 1)
    assert set(table["point"]) == {"clean", "gaussian 0 dB"} and len(table) == 3 * 2
    summary = make_report([tmp_path], tmp_path / "report")
    assert "Report written" in summary
    written = pd.read_csv(tmp_path / "report" / "results_adapt.csv")
    assert len(written) == len(table) and written["diff_mean"].tolist() == pytest.approx(table["diff_mean"].tolist())
    md = (tmp_path / "report" / "results.md").read_text()
    assert "## AdaBN: adapt=bn − none" in md and f"{100 * statistics.mean(d):+.2f}" in md
