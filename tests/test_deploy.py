"""drsn-predict, drsn-export and drsn-inspect: on a tiny checkpoint trained here on real CWRU,
and (bad input, resampling) on an untrained checkpoint that needs no data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from drsn_fd.data.matfile import read_channel
from drsn_fd.data.normalize import normalize
from drsn_fd.data.resample import resample
from drsn_fd.data.split import window_starts
from drsn_fd.deploy.export import export_model
from drsn_fd.deploy.predict import predict_files, windows_of
from drsn_fd.models import create_model
from drsn_fd.models.checkpoint import load_model, save_checkpoint
from drsn_fd.train.loop import run
from tests.helpers import command, make_cfg

CLASSES = ["normal", "IR007", "IR014", "IR021", "B007", "B014", "B021", "OR007@6", "OR014@6", "OR021@6"]


def untrained_checkpoint(path, model: str = "drsn_cw"):
    """A checkpoint of an untrained tiny model (window 512 at 12 kHz, z-score): no data needed."""
    cfg = OmegaConf.to_container(make_cfg(f"model={model}"), resolve=True)
    torch.manual_seed(0)
    net = create_model(model, len(CLASSES), units_per_stage=1).eval()
    save_checkpoint(path, {"model": model, "model_cfg": cfg["model"], "classes": CLASSES, "fs": 12000,
                           "window": 512, "normalize": "zscore", "config": cfg, "model_state": net.state_dict()})
    return path


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    return untrained_checkpoint(tmp_path_factory.mktemp("untrained") / "best.pt")


@pytest.fixture(scope="module")
def cwru_run(tmp_path_factory, cwru_root):
    """A drsn_cw trained for one epoch on a tiny real CWRU config (10 classes, window 512)."""
    out = tmp_path_factory.mktemp("cwru_run")
    run(make_cfg("data=cwru", f"data.root={cwru_root}", "model=drsn_cw", "trainer.epochs=1"), out)
    return out


def cli(monkeypatch, capsys, entry: str, *args: str) -> tuple[int, str, str]:
    """Run a drsn_fd.cli entry point in this process: (exit code, stdout, stderr)."""
    import drsn_fd.cli

    monkeypatch.setattr(sys, "argv", [f"drsn-{entry}", *args])
    code = 0
    try:
        getattr(drsn_fd.cli, entry)()
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def real_windows(path, window: int = 512, stride: int = 256) -> torch.Tensor:
    """Normalised windows (n, 1, window) of a real 12 kHz CWRU record, as the model sees them."""
    x, _ = read_channel(path, "DE")
    w, _ = windows_of(x.astype(np.float32), window, stride, str(path))
    return normalize(torch.from_numpy(w).unsqueeze(1), "zscore")


# ---- drsn-predict ---------------------------------------------------------------------------

@pytest.mark.cwru
def test_predict_real_cwru_file_writes_one_row_per_window(cwru_run, cwru_root, tmp_path):
    ckpt, csv = cwru_run / "checkpoints" / "best.pt", tmp_path / "windows.csv"
    p = subprocess.run([command("drsn-predict"), f"checkpoint={ckpt}", f"input={cwru_root / '105.mat'}",
                        f"out={csv}"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    n = len(read_channel(cwru_root / "105.mat", "DE")[0])
    starts = window_starts(n, 512, 256)  # the training eval stride of the tiny config
    df = pd.read_csv(csv)
    assert len(df) == len(starts) and list(df["start"]) == list(starts) and list(df["window"]) == list(range(len(starts)))
    probs = df[[f"p_{c}" for c in CLASSES]].to_numpy()
    assert np.allclose(probs.sum(1), 1, atol=1e-5) and (probs >= 0).all()
    assert set(df["predicted"]) <= set(CLASSES)
    assert (df["predicted"] == np.array(CLASSES)[probs.argmax(1)]).all()
    first = p.stdout.splitlines()[1]
    assert "105.mat" in first and any(c in first for c in CLASSES) and "windows" in first and "%" in first
    assert "mean probabilities" in p.stdout


@pytest.mark.cwru
def test_predict_folder_json_resamples_the_48k_normal_through_the_catalog(cwru_run, cwru_root, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("97.mat", "105.mat"):
        shutil.copy(cwru_root / name, folder / name)
    ckpt = cwru_run / "checkpoints" / "best.pt"
    p = subprocess.run([command("drsn-predict"), f"checkpoint={ckpt}", f"input={folder}", "--json"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads(p.stdout)
    assert res["fs"] == 12000 and res["window"] == 512 and res["classes"] == CLASSES
    files = {f["file"].split("/")[-1]: f for f in res["files"]}
    x97, _ = read_channel(cwru_root / "97.mat", "DE")
    assert files["97.mat"]["fs_in"] == 48000 and files["105.mat"]["fs_in"] == 12000
    assert files["97.mat"]["samples"] == len(resample(x97, 48000, 12000)) == -(-len(x97) // 4)
    assert files["97.mat"]["windows"] == len(window_starts(files["97.mat"]["samples"], 512, 256))
    for f in res["files"]:
        assert f["predicted"] in CLASSES and 0 < f["share"] <= 1
        assert f["votes"][f["predicted"]] == max(f["votes"].values()) and sum(f["votes"].values()) == f["windows"]
        assert abs(sum(f["mean_probabilities"].values()) - 1) < 1e-5


def test_input_at_another_rate_is_resampled(untrained, tmp_path):
    """A band-limited signal saved at 12 and at 24 kHz gives the same windows and probabilities."""
    fs, n = 12000, 12000
    t = np.arange(2 * n) / (2 * fs)
    rng = np.random.default_rng(0)
    x24 = sum(a * np.sin(2 * np.pi * f * t + ph) for a, f, ph in zip(rng.uniform(0.2, 1, 6), rng.uniform(30, 3000, 6),
                                                                     rng.uniform(0, 6.3, 6), strict=True))
    np.save(tmp_path / "at24k.npy", x24)
    np.savetxt(tmp_path / "at12k.csv", x24[::2], header="acceleration_g", comments="", fmt="%.17g")
    r24 = predict_files(untrained, tmp_path / "at24k.npy", input_fs=24000)["files"][0]
    r12 = predict_files(untrained, tmp_path / "at12k.csv", input_fs=12000)["files"][0]
    assert r24.fs_in == 24000 and r24.samples == n and len(r24.starts) == len(r12.starts) == len(window_starts(n, 512, 256))
    assert np.abs(r24.probs - r12.probs).max() < 0.02


@pytest.mark.parametrize("case", ["npy_without_rate", "mat_without_catalog_number", "csv_without_rate",
                                  "too_short_after_resampling", "unknown_key", "corrupt_checkpoint"])
def test_predict_refuses_in_one_line(case, untrained, tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "signal.npy", np.random.default_rng(0).normal(size=4000))
    np.savetxt(tmp_path / "signal.csv", np.ones(4000))
    from drsn_fd.data.matfile import write_cwru_mat

    write_cwru_mat(tmp_path / "my_recording.mat", 1, {"DE": np.ones(4000)}, 1797.0)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    args, needle = {
        "npy_without_rate": ([f"input={tmp_path / 'signal.npy'}"], "signal.npy: sampling rate unknown"),
        "mat_without_catalog_number": ([f"input={tmp_path / 'my_recording.mat'}"], "my_recording.mat: sampling rate unknown"),
        "csv_without_rate": ([f"input={tmp_path / 'signal.csv'}"], "signal.csv: sampling rate unknown"),
        "too_short_after_resampling": ([f"input={tmp_path / 'signal.npy'}", "input_fs=96000"],
                                       "signal.npy: 500 samples at 12000 Hz (4000 at 96000 Hz"),
        "unknown_key": ([f"input={tmp_path / 'signal.npy'}", "input_rate=12000"], "'input_rate=12000'"),
        "corrupt_checkpoint": ([f"input={tmp_path / 'signal.npy'}", "input_fs=12000"], "bad.pt: corrupt"),
    }[case]
    ckpt = tmp_path / "bad.pt" if case == "corrupt_checkpoint" else untrained
    code, out, err = cli(monkeypatch, capsys, "predict", f"checkpoint={ckpt}", *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("drsn-predict: error: ") and needle in err, err
    if "rate unknown" in needle:
        assert "input_fs=" in err


# ---- drsn-export ----------------------------------------------------------------------------

@pytest.mark.cwru
@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript_export_matches_the_eager_model_on_real_windows(cwru_run, cwru_root, tmp_path):
    ckpt = cwru_run / "checkpoints" / "best.pt"
    out = tmp_path / "model.torchscript.pt"
    p = subprocess.run([command("drsn-export"), f"checkpoint={ckpt}", "format=torchscript", f"out={out}"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    meta = json.loads((tmp_path / "model.torchscript.pt.json").read_text())
    assert meta["classes"] == CLASSES and meta["window"] == 512 and meta["normalize"] == "zscore"
    model, _ = load_model(ckpt)
    exported = torch.jit.load(str(out))
    for name in ("105.mat", "234.mat"):
        x = real_windows(cwru_root / name)
        with torch.inference_mode():
            assert torch.allclose(exported(x), model(x), atol=1e-5, rtol=0)
            assert torch.allclose(exported(x[:1]), model(x[:1]), atol=1e-5, rtol=0)  # any batch size


@pytest.mark.cwru
def test_onnx_export_matches_the_eager_model_on_real_windows(cwru_run, cwru_root, tmp_path):
    pytest.importorskip("onnxscript", reason="onnxscript is not installed (pip install 'drsn_fd[deploy]')")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'drsn_fd[deploy]')")
    ckpt = cwru_run / "checkpoints" / "best.pt"
    out = export_model(ckpt, "onnx", tmp_path / "model.onnx")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["windows"]
    model, _ = load_model(ckpt)
    for name in ("105.mat", "234.mat"):
        x = real_windows(cwru_root / name)
        for batch in (x, x[:1]):
            got = session.run(None, {"windows": batch.numpy()})[0]
            with torch.inference_mode():
                want = model(batch).numpy()
            assert got.shape == want.shape and np.abs(got - want).max() < 1e-5


def test_export_refuses_an_unknown_format(untrained, monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, "export", f"checkpoint={untrained}", "format=tflite")
    assert code == 2 and err.strip() == "drsn-export: error: format='tflite' is unknown; allowed: torchscript, onnx"


# ---- drsn-inspect ---------------------------------------------------------------------------

@pytest.mark.cwru
def test_inspect_writes_table_figure_and_events(cwru_run, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "inspect"
    p = subprocess.run([command("drsn-inspect"), f"checkpoint={cwru_run / 'checkpoints' / 'best.pt'}", f"out={out}"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (out / "thresholds.png").stat().st_size > 10_000
    t = pd.read_csv(out / "thresholds.csv")
    assert len(t) == 3 * 2  # 3 shrinkage units (one per stage) x eval.snrs [-4, 0]
    assert sorted(zip(t["unit"], t["snr_db"], strict=True)) == [(u, s) for u in (1, 2, 3) for s in (-4.0, 0.0)]
    assert ((t["alpha_mean"] > 0) & (t["alpha_mean"] < 1)).all()
    assert ((t["zero_fraction"] >= 0) & (t["zero_fraction"] <= 1)).all() and (t["zero_fraction"] > 0).any()
    assert list(t.groupby("unit")["channels"].first()) == [4, 8, 16]
    ev = EventAccumulator(str(out / "tb"), size_guidance={"scalars": 0, "images": 0}).Reload()
    assert [e.step for e in ev.Scalars("inspect/gaussian_alpha/unit01")] == [-4, 0]
    assert "inspect/thresholds_vs_snr" in ev.Tags()["images"]


@pytest.mark.cwru
def test_inspect_scores_the_very_test_windows_of_training(cwru_run):
    """The accuracy inspect sees at each SNR is the run's own robustness curve: same windows, same noise."""
    from drsn_fd.evaluate.inspect import inspect_thresholds

    res = inspect_thresholds(cwru_run / "checkpoints" / "best.pt", ["eval.snrs=[0,-4]"], cwru_run / "insp")
    curve = {p["snr"]: p["acc"] for p in json.loads((cwru_run / "metrics.json").read_text())["robustness"]}
    assert {r.snr_db: r.acc for r in res["accuracy"].itertuples()} == {-4.0: curve[-4.0], 0.0: curve[0.0]}


def test_inspect_refuses_a_model_without_shrinkage(tmp_path, monkeypatch, capsys):
    ckpt = untrained_checkpoint(tmp_path / "resnet.pt", "resnet")
    code, out, err = cli(monkeypatch, capsys, "inspect", f"checkpoint={ckpt}")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "resnet.pt: model 'resnet' has no shrinkage units" in err and "drsn_cs, drsn_cw, se_resnet" in err


def test_inspect_refuses_an_override_it_cannot_apply(untrained, monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, "inspect", f"checkpoint={untrained}", "data.windw=256")
    assert code == 2 and err.startswith("drsn-inspect: error: 'data.windw=256'") and len(err.strip().splitlines()) == 1


def test_inspect_refuses_windows_the_checkpoint_trained_on(untrained, monkeypatch, capsys):
    """data.* overrides that move the test split onto the training stretch are refused, as drsn-evaluate does."""
    code, _, err = cli(monkeypatch, capsys, "inspect", f"checkpoint={untrained}", "data.split=[0.02,0.02,0.1]")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "test windows overlap samples" in err


def test_a_checkpoint_names_no_folder_for_the_simulated_cache(tmp_path, monkeypatch, capsys):
    """A shared checkpoint's data.simulated.cache_dir is the trainer's machine's: it is never written to."""
    cfg = OmegaConf.to_container(make_cfg(), resolve=True)
    cfg["data"]["simulated"]["cache_dir"] = str(tmp_path / "chosen")
    torch.manual_seed(0)
    net = create_model("drsn_cw", len(CLASSES), units_per_stage=1).eval()
    ckpt = tmp_path / "best.pt"
    save_checkpoint(ckpt, {"model": "drsn_cw", "model_cfg": cfg["model"], "classes": CLASSES, "fs": 12000,
                           "window": 512, "normalize": "zscore", "config": cfg, "model_state": net.state_dict()})
    code, _, _ = cli(monkeypatch, capsys, "inspect", f"checkpoint={ckpt}", f"out={tmp_path / 'inspect'}")
    assert code == 0 and not (tmp_path / "chosen").exists()


@pytest.mark.parametrize("key, value", [("fs", "12000"), ("window", -5), ("classes", "normal"), ("config", [1]),
                                        ("normalize", 3), ("data_files", [{"file": "a.mat", "sha256": "x"}])])
def test_a_checkpoint_field_of_the_wrong_type_is_refused_in_one_line(untrained, tmp_path, key, value,
                                                                     monkeypatch, capsys):
    ck = torch.load(untrained, weights_only=True)
    ck[key] = value
    torch.save(ck, tmp_path / "bad.pt")
    code, _, err = cli(monkeypatch, capsys, "export", f"checkpoint={tmp_path / 'bad.pt'}", "format=torchscript",
                       f"out={tmp_path / 'm.pt'}")
    assert code == 2 and len(err.strip().splitlines()) == 1 and f"key {key} holds" in err and "bad.pt" in err
