"""scripts/recheck_published.py: the reviewer study's published comparisons, Holm over them together."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "recheck_published.py"


def load_script():
    spec = importlib.util.spec_from_file_location("recheck_published", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reviewer_family_is_every_published_comparison_with_holm_over_them_all():
    script = load_script()
    family = script.reviewer_family()
    published = [pd.read_csv(f) for f in sorted(script.RESULTS.glob("reviewer_study_condition*/results_paired.csv"))]
    assert len(family) == sum(len(t) for t in published) <= script.FAMILY
    assert sorted(family["p"]) == sorted(p for t in published for p in t["p"])
    p = sorted(family["p"])  # Holm by hand: the k-th smallest times (m - k), running maximum, capped at 1
    m, running, expect = len(p), 0.0, {}
    for k, v in enumerate(p):
        running = max(running, min(1.0, (m - k) * v))
        expect[v] = running
    for v, got in zip(family["p"], family["p Holm"], strict=True):
        assert got == pytest.approx(expect[v])
        assert got >= v


def test_reviewer_columns_agree_with_each_reports_paired_table():
    script = load_script()
    cols = script.reviewer_columns()
    for f in sorted(script.RESULTS.glob("reviewer_study_condition*/results_paired.csv")):
        for _, row in pd.read_csv(f).iterrows():
            mine = cols[(cols["report"] == f.parent.name) & (cols["score"] == "acc")
                        & (cols["pair"] == f"drsn_cw - {row['baseline']}")]
            assert len(mine) == 1
            assert mine["mean (pp)"].iloc[0] == pytest.approx(100 * row["diff_mean"])
            assert mine["p"].iloc[0] == pytest.approx(row["p"])
            assert mine["n"].iloc[0] == row["n_pairs"]


def test_reviewer_columns_agree_with_each_reports_other_scores():
    script = load_script()
    cols = script.reviewer_columns()
    names = {"test, last weights": "acc_last", "within the training records": "acc_within"}
    checked = 0
    for f in sorted(script.RESULTS.glob("reviewer_study_condition*/results_paired_scores.csv")):
        for _, row in pd.read_csv(f).iterrows():
            mine = cols[(cols["report"] == f.parent.name) & (cols["score"] == names[row["score"]])
                        & (cols["pair"] == f"drsn_cw - {row['baseline']}")]
            assert len(mine) == 1
            assert mine["mean (pp)"].iloc[0] == pytest.approx(100 * row["diff_mean"])
            assert mine["95 % low"].iloc[0] == pytest.approx(100 * row["t_low"])
            assert mine["p"].iloc[0] == pytest.approx(row["p"])
            assert (mine["wins"].iloc[0], mine["losses"].iloc[0]) == (row["drsn_better"], row["baseline_better"])
            checked += 1
    if not checked:
        pytest.fail("no published reviewer report has results_paired_scores.csv")


def test_the_family_report_is_every_condition_report_with_holm_over_them_all():
    """docs/results/reviewer_study: drsn-report over the condition reports' runs.csv (findings.md's table)."""
    script = load_script()
    family = pd.read_csv(script.RESULTS / "reviewer_study" / "results_paired.csv")
    reports = [pd.read_csv(f) for f in sorted(script.RESULTS.glob("reviewer_study_condition*/results_paired.csv"))]
    each = pd.concat(reports, ignore_index=True)
    keys = ["model", "baseline", "condition"]
    assert len(family) == len(each) and not family.duplicated(keys).any()
    both = family.merge(each, on=keys, suffixes=("", "_report"), validate="one_to_one")
    assert len(both) == len(family)
    for col in ("n_pairs", "diff_mean", "t_low", "t_high", "p", "drsn_better", "baseline_better"):
        assert both[col].to_numpy() == pytest.approx(both[f"{col}_report"].to_numpy(), rel=1e-12)
    by_script = script.reviewer_family()  # Holm computed by the script over the same p values
    expect = dict(zip(by_script["p"], by_script["p Holm"], strict=True))
    for p, got in zip(family["p"], family["p_holm"], strict=True):
        assert got == pytest.approx(expect[p], rel=1e-12)


TABLES = ("results.csv", "results_paired.csv", "results_paired_scores.csv", "results_seed_parts.csv")


def published_reports() -> list[Path]:
    """Every report folder under docs/results whose runs.csv drsn-report wrote (the older ones predate it)."""
    from drsn_fd.evaluate.published import REQUIRED

    script = load_script()
    return [f.parent for f in sorted(script.RESULTS.glob("*/runs.csv"))
            if set(REQUIRED) <= set(pd.read_csv(f, nrows=0).columns)]


def test_most_published_reports_are_drsn_reports():
    names = {p.name for p in published_reports()}
    assert {"reviewer_study", "reviewer_study_condition1", "seed_diagnosis", "hit_transfer"} <= names


@pytest.mark.parametrize("folder", published_reports(), ids=lambda p: p.name)
def test_a_published_report_is_rebuilt_byte_for_byte_from_its_runs_csv(folder, tmp_path):
    """A reader needs no run folder: drsn-report on the published runs.csv gives the published tables."""
    from drsn_fd.evaluate.report import make_report

    make_report([folder / "runs.csv"], tmp_path / "again")
    tables = [t for t in TABLES if (folder / t).exists()]
    assert "results_paired.csv" in tables
    for t in tables:
        assert (tmp_path / "again" / t).read_bytes() == (folder / t).read_bytes(), f"{folder.name}/{t}"
