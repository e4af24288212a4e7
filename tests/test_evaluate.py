"""drsn-evaluate: a trained model scored on any data selection, exactly as its run's test phase scores."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from drsn_fd.data.simulated import simulate
from drsn_fd.errors import ConfigError, DrsnError
from drsn_fd.evaluate.report import make_report
from drsn_fd.evaluate.rescore import LeakError, MismatchError, evaluate_config, rescore, short_name
from drsn_fd.evaluate.target import target_windows
from drsn_fd.train.loop import run
from tests.helpers import assert_refused, cli_env, command, make_cfg, metrics

TEN = "'normal', 'IR007', 'IR014', 'IR021', 'B007', 'B014', 'B021', 'OR007@6', 'OR014@6', 'OR021@6'"
FOUR = "['normal', 'inner_race', 'ball', 'outer_race']"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    """A tiny drsn_cw run on the simulated set (load 0, split by time): its folder and record."""
    folder = tmp_path_factory.mktemp("evaluate") / "drsn_cw"
    return folder, run(make_cfg("trainer.epochs=1", "logger.enabled=false"), folder)


def best(folder: Path) -> Path:
    return folder / "checkpoints" / "best.pt"


def test_same_data_reproduces_the_run(trained):
    folder, rec = trained
    res = rescore(best(folder))
    out = folder / "evaluate" / "same-data"
    assert res["evaluation_dir"] == str(out)
    m, run_m = metrics(out), metrics(folder)
    assert m["test"]["best"] == run_m["test"]["best"] and res["test"]["best"] == rec["test"]["best"]
    assert m["robustness"] == run_m["robustness"]
    assert (out / "robustness.csv").read_text() == (folder / "robustness.csv").read_text()
    assert m["status"] == "completed" and m["protocol"] == "evaluate" and m["train_protocol"] == "matched"
    assert m["data"]["split_protocol"] == run_m["data"]["split_protocol"] == "within-record (time split)"
    assert "split_protocol" not in m and "split_protocol" not in run_m  # stored once: in data
    assert m["data"]["windows"]["test"] == run_m["data"]["windows"]["test"]
    assert Path(m["run_dir"]) == folder.resolve() and Path(m["checkpoint"]) == best(folder).resolve()
    for key in ("model", "seed", "noise", "data", "config", "timings"):
        assert key in m, key
    assert m["noise"]["train_snr"] == run_m["noise"]["train_snr"]


def test_every_key_of_a_run_and_of_an_evaluation_is_in_the_schema(trained):
    import re

    from drsn_fd.evaluate import record

    folder, _ = trained
    for m in (metrics(folder), rescore(best(folder), ["eval.snrs=[0]"])):
        for key in (*m, *m["data"], *m["noise"]):
            assert re.search(rf"\b{key}\b", record.__doc__), key
        assert record.missing(m) == ""


def test_cross_load_is_listed_and_paired_only_within_its_protocol(trained, tmp_path):
    folder, rec = trained
    baseline = tmp_path / "resnet"
    run(make_cfg("model=resnet", "trainer.epochs=1", "logger.enabled=false"), baseline)
    for f in (folder, baseline):
        res = rescore(best(f), ["data.test_loads=[1]"])
        assert res["data"]["split_protocol"] == "cross-load 0 -> 1 hp"
        assert {r["load"] for r in res["data"]["records"]} == {1}  # whole records of the other load
        assert res["data"]["windows"]["test"] > rec["data"]["windows"]["test"]
        assert (f / "evaluate" / "test_loads=1" / "metrics.json").is_file()
    summary = make_report([folder, baseline], tmp_path / "report")
    assert "simulated, cross-load 0 -> 1 hp" in summary and "evaluate" in summary
    groups = pd.read_csv(tmp_path / "report" / "results.csv")
    cross = groups[(groups["protocol"] == "evaluate") & (groups["data"] == "simulated, cross-load 0 -> 1 hp")]
    assert sorted(cross["model"]) == ["drsn_cw", "resnet"]
    assert ((groups["protocol"] == "matched") & (groups["data"] == "simulated, within-record (time split)")).sum() == 2
    paired = pd.read_csv(tmp_path / "report" / "results_paired.csv")
    paired = paired[paired["baseline"] == "resnet"]
    assert set(paired["protocol"]) == {"matched", "evaluate"} and (paired["n_pairs"] == 1).all()
    assert paired.loc[paired["protocol"] == "evaluate", "data"].tolist() == ["simulated, cross-load 0 -> 1 hp"]


@pytest.mark.parametrize(("overrides", "error", "needles"), [
    (["data.classes=four"], MismatchError, [FOUR, TEN]),
    (["data.window=1024"], MismatchError, ["data.window=1024", "data.window=512"]),
    (["data.split=[0.02,0.02,0.1]"], LeakError, ["test windows overlap samples"]),  # its own training stretch
    (["data.loads=[1]", "data.test_loads=[0]"], LeakError, ["test windows overlap samples"]),  # its own load
    (["noise.train_snr=3"], ConfigError, ["noise.train_snr only shapes training"]),
    (["trainer.epochs=3"], ConfigError, ["only data.*, noise.* and eval.*"]),
    (["data.nokey=1"], ConfigError, ["data.nokey=1"]),
])
def test_refused_in_one_line(trained, overrides, error, needles):
    folder, _ = trained
    with pytest.raises(error) as e:
        rescore(best(folder), overrides)
    msg = str(e.value)
    assert isinstance(e.value, DrsnError) and "\n" not in msg
    for n in needles:
        assert n in msg, msg
    assert not (folder / "evaluate" / short_name(overrides)).exists()


def test_config_merge_and_names(trained):
    folder, rec = trained
    cfg = evaluate_config(rec["config"], ["noise.kind=pink", "eval.snrs=[-2]", "data.stride_eval=128"])
    assert (cfg.noise.kind, list(cfg.eval.snrs), cfg.data.stride_eval) == ("pink", [-2], 128)
    assert short_name([]) == "same-data" and short_name(["data.test_loads=[1,2]"]) == "test_loads=1,2"
    assert short_name(["data.root=/a/b/cwru"], "run/checkpoints/last.pt") == "last-root=cwru"
    with pytest.raises(ConfigError, match="not of an evaluation"):
        rescore(best(folder), out=folder)  # never over a training run's metrics.json


def test_cli(trained, tmp_path):
    folder, _ = trained
    out = tmp_path / "ev"
    p = subprocess.run([command("drsn-evaluate"), f"checkpoint={best(folder)}", "eval.snrs=[-4]", f"out={out}"],
                       capture_output=True, text=True, timeout=600, env=cli_env())
    assert p.returncode == 0, p.stderr[-2000:]
    assert "test accuracy" in p.stdout and "macro-F1" in p.stdout and "within-record (time split)" in p.stdout
    assert str(out) in p.stdout
    m = metrics(out)
    assert m["status"] == "completed" and [(r["kind"], r["snr"]) for r in m["robustness"]] == [
        ("clean", None), ("gaussian", -4.0)]
    p = subprocess.run([command("drsn-evaluate"), f"checkpoint={best(folder)}", "data.classes=four"],
                       capture_output=True, text=True, timeout=600, env=cli_env())
    assert_refused(p, "drsn-evaluate: error:", FOUR, TEN)


@pytest.mark.cwru
def test_real_cwru_cross_load(cwru_root, tmp_path):
    folder = tmp_path / "cwru"
    run(make_cfg("data=cwru", f"data.root={cwru_root}", "data.classes=faults", "data.loads=[0]",
                 "trainer.epochs=1", "logger.enabled=false"), folder)
    res = rescore(best(folder), ["data.test_loads=[1]"])
    m = metrics(folder / "evaluate" / "test_loads=1")
    assert m["status"] == "completed" and m["protocol"] == "evaluate"
    assert m["data"]["split_protocol"] == res["data"]["split_protocol"] == "cross-load 0 -> 1 hp"
    assert len(m["data"]["classes"]) == 9 and {r["load"] for r in m["data"]["records"]} == {1}
    assert all(Path(r["file"]).parent.name == "1hp" for r in m["data"]["records"])
    assert 0.0 <= m["test"]["best"]["acc"] <= 1.0


# ---------------------------------------------------------------- new data: a folder it never trained on

WINDOW, STRIDE = 512, 256  # TINY's data.window and data.stride_eval


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def windows_by_hand(samples: int) -> int:
    return (samples - WINDOW) // STRIDE + 1


@pytest.fixture(scope="module")
def other_folder(tmp_path_factory) -> Path:
    """The simulated set written again with another seed (2 s records): other recordings, the same classes."""
    return simulate(tmp_path_factory.mktemp("other") / "sim", seed=1, seconds=2.0).resolve()


def test_a_folder_of_other_records_is_scored_whole(trained, other_folder):
    folder, rec = trained
    before = sha(best(folder))
    res = rescore(best(folder), [f"data.root={other_folder}"], data="cwru")
    assert sha(best(folder)) == before  # the weights on disk never change
    m = metrics(folder / "evaluate" / "data=cwru_root=sim")
    assert m["test"] == res["test"] and m["overrides"] == ["data=cwru", f"data.root={other_folder}"]
    assert m["data"]["split_protocol"] == f"new data: CWRU {other_folder} (whole records)"
    records = m["data"]["records"]
    assert sorted(r["number"] for r in records) == sorted(r["number"] for r in rec["data"]["records"])
    assert all(Path(r["file"]).parent == other_folder and r["role"] == "test" for r in records)
    assert all(r["samples"] == 2 * 12000 for r in records)
    assert m["data"]["windows"] == {"test": sum(windows_by_hand(r["samples"]) for r in records)}
    assert m["test"]["best"]["n"] == m["data"]["windows"]["test"]
    ws, _ = target_windows(evaluate_config(rec["config"], [f"data.root={other_folder}"], data="cwru"), rec["config"])
    test = ws.splits["test"]
    for i, r in enumerate(ws.records):  # every window of the record, from its first sample on
        starts = test.start[test.record == i]
        np.testing.assert_array_equal(starts, STRIDE * np.arange(windows_by_hand(len(r.signal))))
        np.testing.assert_array_equal(test.x[test.record == i][-1], r.signal[starts[-1]:starts[-1] + WINDOW])


@pytest.mark.parametrize("how", ["the same folder", "a copy", "written again"])
def test_files_it_trained_on_are_no_new_data(trained, tmp_path, how):
    """The same path, the same bytes, or the same signal (the set generated again): its own split, leaks refused."""
    folder, rec = trained
    files = [Path(r["file"]) for r in rec["data"]["records"]]
    root = files[0].parent
    if how == "a copy":
        root = tmp_path / "copy"
        root.mkdir()
        for f in files:
            shutil.copy(f, root / f.name)
    elif how == "written again":
        root = simulate(tmp_path / "again", seed=0, seconds=10.0)
    res = rescore(best(folder), [f"data.root={root}"], tmp_path / "ev", data="cwru")
    assert res["data"]["split_protocol"] == "within-record (time split)"
    assert res["test"]["best"]["n"] == rec["test"]["best"]["n"] and res["test"]["best"]["acc"] == rec["test"]["best"]["acc"]
    with pytest.raises(LeakError, match="test windows overlap samples"):
        rescore(best(folder), [f"data.root={root}", "data.split=[0.02,0.02,0.1]"], tmp_path / "leak", data="cwru")


def test_data_name_brings_its_yaml_but_keeps_the_checkpoints_rate_and_window(trained):
    _, rec = trained
    cfg = evaluate_config(rec["config"], ["data.root=/somewhere"], data="hit")
    assert (cfg.data.source, cfg.data.name, cfg.data.classes, cfg.data.loads) == ("hit", "HIT-SM", "seven", None)
    assert (cfg.data.fs, cfg.data.window) == (rec["data"]["fs"], rec["data"]["window"]) == (12000, 512)
    assert cfg.data.stride_eval == STRIDE  # a key hit.yaml does not define stays the checkpoint's


@pytest.mark.hit
def test_another_data_set_with_other_classes_is_refused(trained, hit_root):
    folder, _ = trained
    with pytest.raises(MismatchError, match="'Normal', 'IR2'"):
        rescore(best(folder), [f"data.root={hit_root}"], data="hit")


def test_bad_new_data_input_is_refused_in_one_line(trained, tmp_path):
    folder, _ = trained
    signal = np.random.default_rng(0).standard_normal(20000)
    for name in ("a", "b"):
        np.save(tmp_path / f"{name}.npy", signal)
    (tmp_path / "manifest.csv").write_text("file,label,fs\na.npy,normal,12000\nb.npy,cracked,12000\n")
    for args, needles in (
        (["adapt=foo"], ["adapt='foo' is unknown", "none, bn"]),
        (["data=unknown"], ["data='unknown' is unknown", "cwru, hit, manifest, simulated"]),
        (["data.root=/somewhere"], ["data=simulated reads no folder", "data=cwru"]),
        (["data=manifest", f"data.manifest={tmp_path / 'manifest.csv'}"], ["'cracked'", TEN]),
    ):
        p = subprocess.run([command("drsn-evaluate"), f"checkpoint={best(folder)}", *args, f"out={tmp_path / 'ev'}"],
                           capture_output=True, text=True, timeout=600, env=cli_env())
        assert_refused(p, "drsn-evaluate: error:", *needles)
    assert not (tmp_path / "ev").exists()


@pytest.mark.cwru
def test_real_cwru_records_of_another_folder_are_scored_whole(cwru_root, tmp_path):
    """Trained on the simulated faults, scored on every window of the real CWRU 1 hp records."""
    from scipy.io import loadmat

    folder = tmp_path / "sim"
    run(make_cfg("data.classes=faults", "trainer.epochs=1", "logger.enabled=false"), folder)
    before = sha(best(folder))
    res = rescore(best(folder), [f"data.root={cwru_root / '1hp'}", "data.loads=[1]"], data="cwru")
    assert sha(best(folder)) == before
    assert res["data"]["split_protocol"] == f"new data: CWRU {cwru_root / '1hp'} (whole records)"
    records = res["data"]["records"]
    assert len(records) == 9 and {r["load"] for r in records} == {1}
    lengths = {}
    for f in sorted((cwru_root / "1hp").glob("*.mat")):  # the 12 kHz drive-end signals, read here
        mat = loadmat(f)
        lengths[str(f.resolve())] = len(next(v for k, v in mat.items() if k.endswith("DE_time")))
    assert {r["file"]: r["samples"] for r in records} == lengths
    assert res["test"]["best"]["n"] == sum(windows_by_hand(n) for n in lengths.values())


@pytest.fixture
def moved_away(tmp_path):
    """A run on CWRU-style files whose folder then moved (the checkpoint went to another machine)."""
    train_root = simulate(tmp_path / "train", seed=0, seconds=2.0)
    folder = tmp_path / "run"
    run(make_cfg("data=cwru", f"data.root={train_root}", "trainer.epochs=1", "logger.enabled=false"), folder)
    train_root.rename(tmp_path / "elsewhere")
    return folder, tmp_path / "elsewhere"


def test_unread_training_data_is_recognised_by_the_sha256_the_checkpoint_stores(moved_away, other_folder, tmp_path):
    """Its training data moved: another folder of the same source shares no sha256 with it and is new
    data, scored whole; the moved copy is the run's own data, and reproduces its test exactly."""
    folder, elsewhere = moved_away
    other = rescore(best(folder), [f"data.root={other_folder}"], tmp_path / "other")
    assert other["data"]["split_protocol"].startswith("new data") and "training data unread here" in \
        other["data"]["split_protocol"]
    assert {f["trained_on"] for f in other["data"]["files"]} == {False}
    same = rescore(best(folder), [f"data.root={elsewhere}"], tmp_path / "same")
    run_m = metrics(folder)
    assert same["data"]["split_protocol"] == run_m["data"]["split_protocol"]
    assert same["test"]["best"] == run_m["test"]["best"]
    assert {f["trained_on"] for f in same["data"]["files"]} == {True}


def test_unread_training_data_of_a_checkpoint_without_sha256_refuses_records_of_its_source(moved_away,
                                                                                         other_folder, tmp_path):
    """A checkpoint that stored no sha256 of its data cannot be compared with: a folder of the same
    source may hold the very recordings it trained on, so the evaluation is refused, not called new data."""
    folder, _ = moved_away
    ck = torch.load(best(folder), weights_only=True)
    del ck["data_files"]
    torch.save(ck, tmp_path / "old.pt")
    with pytest.raises(LeakError, match="training data cannot be read here .* may be the very recordings"):
        rescore(tmp_path / "old.pt", [f"data.root={other_folder}"], tmp_path / "ev")
    assert not (tmp_path / "ev" / "metrics.json").exists()
