"""Recheck the published study tables with the report's own statistics (p and Holm p, per-model drops).

The run folders behind docs/results/shrinkage_study and docs/results/cross_load are not kept; their
per-run CSVs are. This recomputes, from those CSVs alone and with `drsn_fd.evaluate.stats`
(`paired_stats`, `holm`), what the corrections in docs/findings.md and the README quote.

    python scripts/recheck_published.py

It also gathers the reviewer study's paired comparisons (docs/results/reviewer_study_condition*,
the five conditions: its family of 10) and adjusts them together with Holm. The study's own
table of them is drsn-report's, over the condition reports' runs.csv files
(docs/results/reviewer_study); tests/test_published.py checks that the two agree.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from drsn_fd.evaluate.stats import holm, paired_stats

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def shrinkage_pairs() -> pd.DataFrame:
    """DRSN-CW against ResNet and se_resnet in each condition: paired over seeds, p, Holm p over the 14."""
    d = pd.read_csv(RESULTS / "shrinkage_study" / "runs.csv")
    rows = []
    for cond, g in d.groupby("condition", sort=False):
        acc = g.pivot_table(index="seed", columns="model", values="acc")
        for base in ("resnet", "se_resnet"):
            s = paired_stats((acc["drsn_cw"] - acc[base]).dropna().to_numpy())
            rows.append({"condition": cond, "pair": f"drsn_cw - {base}", "n": s["n_pairs"],
                         "mean (pp)": 100 * s["diff_mean"], "95 % low": 100 * s["t_low"],
                         "95 % high": 100 * s["t_high"], "p": s["p"]})
    t = pd.DataFrame(rows)
    t["p Holm"] = holm(t["p"].to_numpy())
    return t


def worst_seed(d: pd.DataFrame) -> pd.Series:
    """How often each seed is the worst of its (condition, model) cell."""
    return d.loc[d.groupby(["condition", "model"])["acc"].idxmin(), "seed"].value_counts()


def cross_load_drops() -> tuple[pd.DataFrame, pd.Series]:
    """Within-record minus cross-load accuracy (pp) per training and model, and the share of pairs below."""
    d = pd.read_csv(RESULTS / "cross_load" / "runs.csv")
    w = d.pivot_table(index=["direction", "training", "model", "seed", "test"], columns="split",
                      values="acc").reset_index()
    w["drop (pp)"] = 100 * (w["within-record"] - w["cross-load"])
    w["cross below within"] = w["cross-load"] < w["within-record"]
    drops = w.groupby(["training", "model"])["drop (pp)"].mean().unstack()
    at_8 = w[w["training"].str.startswith("matched") & (w["test"] == "-8 dB")]
    drops.loc["matched -4 dB, tested at -8 dB, 0 -> 1 hp"] = (
        at_8[at_8["direction"] == "0 -> 1 hp"].groupby("model")["drop (pp)"].mean())
    return drops, w.groupby("training")["cross below within"].mean()


FAMILY = 10  # the reviewer study's comparisons: 5 conditions x (drsn_cw - resnet, drsn_cw - se_resnet)


def reviewer_family() -> pd.DataFrame:
    """The reviewer study's paired comparisons (each condition report's own p), Holm over them all."""
    t = pd.concat([pd.read_csv(f).assign(report=f.parent.name)
                   for f in sorted(RESULTS.glob("reviewer_study_condition*/results_paired.csv"))], ignore_index=True)
    t = t[["report", "model", "baseline", "n_pairs", "diff_mean", "t_low", "t_high", "p"]]
    t["p Holm"] = holm(t["p"].to_numpy())
    return t


def reviewer_columns() -> pd.DataFrame:
    """drsn_cw - each baseline of every published reviewer report, paired by seed, on the test of the
    weights kept (acc), of the last weights (acc_last) and within the training records (acc_within)."""
    rows = []
    for f in sorted(RESULTS.glob("reviewer_study_condition*/runs.csv")):
        d = pd.read_csv(f)
        for col in ("acc", "acc_last", "acc_within"):
            if d[col].isna().all():
                continue
            acc = d.pivot_table(index="seed", columns="model", values=col)
            for base in [m for m in ("resnet", "se_resnet") if m in acc]:
                s = paired_stats((acc["drsn_cw"] - acc[base]).dropna().to_numpy())
                rows.append({"report": f.parent.name, "score": col, "pair": f"drsn_cw - {base}", "n": s["n_pairs"],
                             "mean (pp)": 100 * s["diff_mean"], "95 % low": 100 * s["t_low"],
                             "95 % high": 100 * s["t_high"], "wins": s["drsn_better"],
                             "losses": s["baseline_better"], "p": s["p"]})
    return pd.DataFrame(rows)


def main() -> None:
    pd.set_option("display.width", 160)
    print("Shrinkage study (docs/results/shrinkage_study/runs.csv): paired over 5 seeds\n")
    print(shrinkage_pairs().round(4).to_string(index=False))
    print("\nworst seed of each (condition, model) cell:", worst_seed(
        pd.read_csv(RESULTS / "shrinkage_study" / "runs.csv")).to_dict())
    drops, below = cross_load_drops()
    print("\nCross-load, 25 epochs (docs/results/cross_load/runs.csv): mean within − cross (pp)\n")
    print(drops.round(2).to_string())
    print("\nshare of (run, test point) pairs where cross-load is below within-record:", below.round(3).to_dict())
    family = reviewer_family()
    print(f"\nReviewer study (docs/results/reviewer_study_condition*/results_paired.csv): {len(family)} of its "
          f"{FAMILY} comparisons, Holm over those {len(family)}\n")
    print(family.round(4).to_string(index=False))
    print("\nReviewer study: drsn_cw − baseline on each published score (runs.csv), paired by seed\n")
    print(reviewer_columns().round(4).to_string(index=False))


if __name__ == "__main__":
    main()
