"""The report's AdaBN table: adapt=bn − none, paired within each evaluation, then over seeds.

An evaluation made with `drsn-evaluate adapt=bn` scores each form on the same windows (`adapt.py`):
`bn_inductive` and `bn_transductive` against `none` on the second half of each record (`paired`),
and `bn_transductive` against `none` on all windows (`all`). Each such record gives one paired
difference per comparison and point of its robustness curve (and its test noise, where that is no
curve point); the differences of the evaluations of one group (data, model, noise, protocol,
SNRs: `stats.GROUP_KEYS`) over seeds give the mean, the 95 % t-interval and the counts of wins,
losses and ties, the paired p and its Holm-adjusted value over the table (`stats.paired_stats`,
`stats.holm`), beside the mean accuracy without and with adaptation.
"""

from __future__ import annotations

import math

import pandas as pd

from drsn_fd.data.pipeline import test_snr
from drsn_fd.evaluate.collect import Run
from drsn_fd.evaluate.report_format import p_value
from drsn_fd.evaluate.stats import GROUP_KEYS, holm, paired_stats, snr_label, sort_table

COMPARISONS = (("paired", "bn_inductive"), ("paired", "bn_transductive"), ("all", "bn_transductive"))
WINDOWS = {"paired": "second halves", "all": "all"}
COLUMNS = [*GROUP_KEYS, "windows", "form", "point", "n_pairs", "none_mean", "adapt_mean", "diff_mean", "t_low",
           "t_high", "adapt_better", "none_better", "ties", "p", "p_holm"]


def _point(kind: object, snr: object) -> str:
    return "clean" if snr is None or kind in ("clean", "none") else f"{kind} {snr_label(snr)} dB"


def _accuracies(m: dict, scope: str, form: str) -> dict[str, float]:
    """{point: accuracy} of one form of a record: its curve, and its test noise where that is no curve point."""
    part = m["adapt"][scope]
    if scope == "all" and form == "none":  # stored once: the record's own test and curve
        test, curve = m["test"]["best"], m["robustness"]
    else:
        test, curve = part["test"][form], part["robustness"][form]
    acc = {_point(p["kind"], p["snr"]): float(p["acc"]) for p in curve}
    noise = m["noise"]
    acc.setdefault(_point(noise["kind"], test_snr(noise)), float(test["acc"]))
    return acc


def adapt_table(runs: list[Run], table: pd.DataFrame) -> pd.DataFrame:
    """adapt=bn − none over seeds, one row per group, comparison and point (accuracy, 0..1)."""
    rows = {folder: row for folder, row in zip(table["folder"], table.to_dict("records"), strict=True)} \
        if not table.empty else {}
    diffs = []
    for r in runs:
        if r.folder not in rows or not isinstance(r.metrics.get("adapt"), dict):
            continue
        row = rows[r.folder]
        try:
            for scope, form in COMPARISONS:
                base, new = _accuracies(r.metrics, scope, "none"), _accuracies(r.metrics, scope, form)
                for point, acc in new.items():
                    if point in base:
                        diffs.append({**{k: row[k] for k in GROUP_KEYS}, "seed": row["seed"], "windows": WINDOWS[scope],
                                      "form": form, "point": point, "none": base[point], "adapt": acc,
                                      "diff": acc - base[point]})
        except (KeyError, TypeError, ValueError):
            continue  # a malformed adapt part is left out; the run's row in the other tables stays
    if not diffs:
        return pd.DataFrame(columns=COLUMNS)
    d = pd.DataFrame(diffs)
    keys = [*GROUP_KEYS, "windows", "form", "point"]
    d = d[~d.duplicated([*keys, "seed"], keep=False)]  # two evaluations of one checkpoint: in no pair
    out = []
    for key, g in d.groupby(keys, sort=False, dropna=False):
        s = paired_stats(g["diff"].to_numpy())
        out.append({**dict(zip(keys, key, strict=True)), "none_mean": g["none"].mean(), "adapt_mean": g["adapt"].mean(),
                    **{k: s[k] for k in ("n_pairs", "diff_mean", "t_low", "t_high", "p")},
                    "adapt_better": s["drsn_better"], "none_better": s["baseline_better"], "ties": s["ties"]})
    t = pd.DataFrame(out, columns=COLUMNS)
    t["p_holm"] = holm(t["p"].to_numpy())
    return sort_table(t)


def _pp(v: float) -> str:
    return "—" if v is None or math.isnan(v) else f"{100 * v:+.2f}"


ADAPT_NOTE = (
    "Δacc = test accuracy with the BatchNorm statistics re-estimated on the unlabelled target windows "
    "(AdaBN) − without, in percentage points, of the same checkpoint on the very same windows at the "
    "same noise, paired within each evaluation, then averaged over seeds. bn_inductive adapts on the "
    "first half of each target record's windows and is scored, like none, on the second half; "
    "bn_transductive adapts on the windows it scores (the second halves, or all windows). "
    "The t-interval is mean ± t(0.975, n − 1) · s / √n; — with fewer than 2 pairs. The last column "
    "counts the pairs in which adaptation scored higher, lower, and the ties; p is the paired t-test's, "
    "Holm p its Holm-adjusted value over every row of this table.")


def adapt_markdown(t: pd.DataFrame) -> str:
    """The section of results.md: the AdaBN table in percentage points ('' when no evaluation adapted)."""
    if t.empty:
        return ""
    cols = {"data": t["data"]} if t["data"].nunique() > 1 else {}
    cols.update({"model": t["model"], "noise": t["noise"], "protocol": t["protocol"],
                 "train SNR (dB)": t["train_snr"], "windows": t["windows"], "form": t["form"], "test point": t["point"],
                 "pairs": t["n_pairs"],
                 "none → adapt (%)": [f"{100 * a:.2f} → {100 * b:.2f}" for a, b in zip(t["none_mean"], t["adapt_mean"], strict=True)],
                 "Δacc (pp)": [_pp(v) for v in t["diff_mean"]],
                 "95 % t-interval (pp)": ["—" if math.isnan(lo) or math.isnan(hi) else f"[{_pp(lo)}, {_pp(hi)}]"
                                          for lo, hi in zip(t["t_low"], t["t_high"], strict=True)],
                 "adapt / none better / ties": [f"{a} / {b} / {c}" for a, b, c in
                                                zip(t["adapt_better"], t["none_better"], t["ties"], strict=True)],
                 "p": [p_value(v) for v in t["p"]], "Holm p": [p_value(v) for v in t["p_holm"]]})
    left = ("data", "model", "noise", "protocol", "windows", "form", "test point")
    table = pd.DataFrame(cols).to_markdown(index=False, disable_numparse=True,
                                           colalign=["left" if c in left else "right" for c in cols])
    return "\n".join(["## AdaBN: adapt=bn − none (drsn-evaluate adapt=bn)", "", ADAPT_NOTE, "", table, ""])
