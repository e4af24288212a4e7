"""drsn-report on a report's runs.csv: a published report's runs count as the records they came from."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from drsn_fd.errors import DrsnError
from drsn_fd.evaluate.report import make_report
from tests.helpers import command
from tests.test_report import put, study_run

MODELS = ("drsn_cw", "se_resnet", "resnet")
TABLES = ("results.csv", "results_paired.csv", "results_paired_scores.csv")


def study(root: Path, models=MODELS, seeds=range(5)) -> Path:
    """A cross-load study: kept, last and within-record accuracies that differ by model and seed."""
    for model in models:
        i = MODELS.index(model)
        for seed in seeds:
            acc = 0.70 + 0.03 * i + 0.011 * seed * (i + 1) % 0.07
            m = study_run(model, seed, acc, "shrinkage_cross_load", within=acc + 0.05 - 0.004 * seed * i,
                          best_epoch=2 + (seed + i) % 2, val_acc=0.85 + 0.02 * (seed % 3))
            m["test"]["last"]["acc"] = acc + 0.002 * (seed - i)
            put(root, f"{model}-{seed}", m)
    return root


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"train_snr": str, "test_snr": str})


def test_a_report_of_its_own_runs_csv_recomputes_every_table(tmp_path):
    root = study(tmp_path / "s")
    make_report([root])
    text = make_report([root / "runs.csv"], tmp_path / "again")
    for name in TABLES:
        pd.testing.assert_frame_equal(read(tmp_path / "again" / name), read(root / name), check_exact=True)
    first, again = read(root / "runs.csv"), read(tmp_path / "again" / "runs.csv")
    assert list(again["folder"]) == [f"{(root / 'runs.csv').as_posix()}:{f}" for f in first["folder"]]
    pd.testing.assert_frame_equal(again.drop(columns="folder"), first.drop(columns="folder"), check_exact=True)
    # the within-record pairs at the test point; the curves' clean point is only in the records
    wc, wc_again = read(root / "results_within_cross.csv"), read(tmp_path / "again" / "results_within_cross.csv")
    at_test = wc[wc["curve_kind"] == "gaussian"].reset_index(drop=True)
    assert set(wc_again["curve_kind"]) == {"gaussian"} and len(wc_again) == len(MODELS)
    cols = ["model", "n_pairs", "diff_mean", "t_low", "t_high", "p", "within_mean", "cross_mean"]
    pd.testing.assert_frame_equal(wc_again[cols], at_test[cols], check_exact=True)
    assert f"15 completed runs read back from `{root / 'runs.csv'}`" in text


def test_published_runs_pair_with_the_new_runs_of_their_cells(tmp_path):
    """Old runs whose folders are gone (only their report's runs.csv is kept) and new runs of a third
    model: one report pairs them as if every record were there."""
    whole = study(tmp_path / "whole")
    make_report([whole], tmp_path / "oracle")
    old = study(tmp_path / "old", models=("drsn_cw", "resnet"))
    make_report([old], tmp_path / "published")
    shutil.rmtree(old)
    new = study(tmp_path / "new", models=("se_resnet",))
    text = make_report([tmp_path / "published" / "runs.csv", new], tmp_path / "mixed")
    for name in TABLES:
        pd.testing.assert_frame_equal(read(tmp_path / "mixed" / name), read(tmp_path / "oracle" / name),
                                      check_exact=True)
    paired = read(tmp_path / "mixed" / "results_paired.csv")
    assert sorted(paired["baseline"]) == ["resnet", "se_resnet"] and (paired["n_pairs"] == 5).all()
    md = (tmp_path / "mixed" / "results.md").read_text()
    assert "5 runs under" in md and "10 completed runs read back from" in md
    assert "read back from a runs.csv" not in md  # the data set is described from the new records
    folders = read(tmp_path / "mixed" / "runs.csv")["folder"]  # every run says where it came from
    assert sorted(f.split(":")[0] for f in folders if ":" in f) == [(tmp_path / "published" / "runs.csv").as_posix()] * 10
    assert sorted(f for f in folders if ":" not in f) == sorted(f"{new.as_posix()}/se_resnet-{s}" for s in range(5))
    assert "Paired DRSN − baseline" in text


def test_a_run_given_twice_is_a_duplicate_never_a_second_seed(tmp_path):
    root = study(tmp_path / "s", seeds=range(3))
    make_report([root])
    make_report([root / "runs.csv", root], tmp_path / "both")
    runs = read(tmp_path / "both" / "runs.csv")
    assert len(runs) == 18 and runs["duplicate"].all()
    assert read(tmp_path / "both" / "results_paired.csv").empty
    assert "## Duplicate runs" in (tmp_path / "both" / "results.md").read_text()


def test_a_csv_that_is_not_a_reports_runs_csv_is_refused_by_name(tmp_path):
    bad = tmp_path / "x" / "runs.csv"
    bad.parent.mkdir()
    bad.write_text("model,seed,acc\nresnet,0,0.9\n")
    with pytest.raises(DrsnError, match=r"x/runs.csv is not a runs.csv written by drsn-report: it lacks the "
                                        r"column\(s\) data, noise, protocol"):
        make_report([bad], tmp_path / "out")
    other = tmp_path / "table.csv"
    other.write_text("a,b\n")
    with pytest.raises(DrsnError, match="table.csv is a file; give a sweep folder, a run folder, a metrics.json or"):
        make_report([other], tmp_path / "out")


def test_the_report_never_writes_over_the_runs_csv_it_reads(tmp_path):
    root = study(tmp_path / "s", seeds=range(2))
    make_report([root])
    before = (root / "runs.csv").read_bytes()
    with pytest.raises(DrsnError, match="would write over its own input"):
        make_report([root / "runs.csv"])
    with pytest.raises(DrsnError, match="would write over its own input"):
        make_report([tmp_path / "s" / "runs.csv"], root)
    assert (root / "runs.csv").read_bytes() == before


@pytest.mark.slow
def test_cli_refuses_a_foreign_csv_with_one_line(tmp_path):
    bad = tmp_path / "runs.csv"
    bad.write_text("model,acc\nresnet,0.9\n")
    p = subprocess.run([command("drsn-report"), str(bad), "--out", str(tmp_path / "out")], capture_output=True,
                       text=True, timeout=300)
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0 and p.stdout == ""
    assert len(lines) == 1 and lines[0].startswith("drsn-report: error:") and str(bad) in lines[0]
    assert not (tmp_path / "out").exists()
