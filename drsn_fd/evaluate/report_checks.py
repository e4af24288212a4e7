"""The sections of results.md that let a reader check a study: within-record against cross-domain,
the duplicate runs, and the runs that may not have converged."""

from __future__ import annotations

import pandas as pd

from drsn_fd.evaluate.condition import common_part, distinct_part
from drsn_fd.evaluate.convergence import FLAG, LATE
from drsn_fd.evaluate.report_format import DASH, flagged, interval, md_table, p_value, pp
from drsn_fd.evaluate.stats import GROUP_KEYS

P_NOTE = (
    "**p** is the two-sided paired t-test of a zero mean difference (scipy.stats.ttest_1samp on the "
    f"differences; {DASH} with fewer than 2 pairs or when every difference is the same). **Holm p** "
    "adjusts it for the table's family of comparisons, every row of the table (Holm's step-down: the "
    "k-th smallest of m p-values times m − k + 1, made monotone, capped at 1). "
    f"**{FLAG}** counts the runs of the row's pairs whose best epoch lies in the last "
    f"{100 * (1 - LATE):.0f} % of their schedule or whose last training accuracy is below their best "
    "validation accuracy (see the section of that name).")

WITHIN_CROSS_NOTE = (
    "Each run of a shift protocol was tested twice with the same weights: on the whole records of the "
    "other domain (cross) and on a later stretch of its own training records (within). Δ = cross − "
    "within of the same run, in percentage points, averaged over the runs (seeds) of the row; the "
    "t-interval is mean ± t(0.975, n − 1) · s / √n. Wins / losses / ties: the runs that scored higher "
    "across domains, higher within the record, the same. Test points: the test noise and each point of "
    "the robustness curves. " + P_NOTE.split(" **" + FLAG)[0])


def condition_column(t: pd.DataFrame) -> dict:
    """{'condition': ...} where the rows' conditions differ: each without what they all share
    (results.md names that once, `common_line`), else nothing."""
    if "condition" not in t or t["condition"].nunique() < 2:
        return {}
    common = common_part(t["condition"].unique())
    return {"condition": [distinct_part(c, common) or "(none)" for c in t["condition"]]}


def common_line(t: pd.DataFrame) -> list[str]:
    """The line of results.md that names what the condition of every run sets, if anything."""
    common = common_part(t["condition"].unique()) if "condition" in t and len(t) else ""
    return [f"- Condition of every run (experiment and sweep overrides, model and seed aside): `{common}`."] \
        if common else []


def within_cross_markdown(wc: pd.DataFrame) -> str:
    """The within-record against cross-domain table in % and pp."""
    if wc.empty:
        return "No run of a shift protocol recorded test_within."
    t = wc
    cols = {"model": t["model"]}
    if t["data"].nunique() > 1:
        cols["data"] = t["data"]
    cols.update(condition_column(t))
    cols.update({"noise": t["noise"], "protocol": t["protocol"], "train SNR (dB)": t["train_snr"],
                 "test point": [_point(k, s) for k, s in zip(t["curve_kind"], t["curve_snr"], strict=True)],
                 "n": t["n_pairs"],
                 "within → cross (%)": [f"{100 * w:.2f} → {100 * c:.2f}"
                                        for w, c in zip(t["within_mean"], t["cross_mean"], strict=True)],
                 "Δ cross − within (pp)": [pp(v) for v in t["diff_mean"]],
                 "95 % t-interval (pp)": [interval(lo, hi) for lo, hi in zip(t["t_low"], t["t_high"], strict=True)],
                 "cross / within better / ties": [f"{a} / {b} / {c}" for a, b, c in
                                                zip(t["cross_better"], t["within_better"], t["ties"], strict=True)],
                 "p": [p_value(v) for v in t["p"]], "Holm p": [p_value(v) for v in t["p_holm"]],
                 FLAG: [flagged(v) for v in t["unconverged"]]})
    return md_table(pd.DataFrame(cols), left=("model", "data", "condition", "noise", "protocol", "test point"))


def duplicates_markdown(dup: pd.DataFrame) -> str:
    """The runs that share a cell (group and seed) with another run: one row each, by cell."""
    if dup.empty:
        return "None: no two runs share condition, model, seed, data, noise, protocol and SNR."
    t = dup.sort_values([*GROUP_KEYS, "seed", "folder"], kind="stable")
    cell = [" ".join(str(v) for v in row if str(v) != "") for row in t[[*GROUP_KEYS, "seed"]].astype(str).to_numpy()]
    rows = pd.DataFrame({"cell": cell, "folder": [f"`{f}`" for f in t["folder"]],
                         "test acc (%)": [f"{100 * a:.2f}" for a in t["acc"]]})
    return (f"{len(t)} runs share their cell (condition, model, seed, data, noise, protocol and SNR) with "
            "another run: the report cannot tell which one counts, so it leaves all of them out of the "
            "groups and the pairs (rerun into a fresh folder, or report the sweeps apart):\n\n"
            + md_table(rows, left=("cell", "folder")))


def convergence_markdown(table: pd.DataFrame) -> str:
    """How many runs may not have converged, and why, one row each."""
    if table.empty or "unconverged" not in table:
        return "No completed runs."
    table = table[table["protocol"] != "evaluate"] if "protocol" in table else table  # an evaluation trains nothing
    if table.empty:
        return "No completed training runs."
    bad = table[table["unconverged"].eq(True)]
    unknown = int(table["unconverged"].isna().sum())
    rule = (f"A run is flagged when its best epoch (the one validation kept) lies in the last "
            f"{100 * (1 - LATE):.0f} % of its schedule, or when its last epoch's training accuracy is below "
            "its best validation accuracy.")
    tail = f" {unknown} runs record too little to tell (older runs)." if unknown else ""
    if bad.empty:
        return f"{rule} None of the {len(table)} runs is flagged.{tail}"
    rows = pd.DataFrame({"folder": [f"`{f}`" for f in bad["folder"]], "model": bad["model"],
                         "seed": bad["seed"].astype(str), "why": bad["unconverged_why"]})
    return (f"{rule} **{len(bad)} of {len(table)} runs {FLAG}.**{tail}\n\n"
            + md_table(rows, left=("folder", "model", "why")))


def _point(kind: str, snr: float) -> str:
    return "clean" if kind == "clean" or pd.isna(snr) else f"{kind} {snr:g} dB"
