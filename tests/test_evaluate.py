"""drsn-evaluate: a trained model scored on any data selection, exactly as its run's test phase scores."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from drsn_fd.errors import ConfigError, DrsnError
from drsn_fd.evaluate.report import make_report
from drsn_fd.evaluate.rescore import LeakError, MismatchError, evaluate_config, rescore, short_name
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
