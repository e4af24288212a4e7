"""Within-record against cross-domain: each run of a shift protocol paired with itself.

A run trained under a shift protocol (cross-load, cross-rig ...) is tested twice with the same
weights: on the whole records of the other domain (`test`, `robustness`) and on a later stretch of
its own training records (`test_within`, `robustness_within`). The difference cross − within of
one run is a pair, as two models of one seed are: the table gives, per group (model, data, noise,
protocol, SNRs, condition) and test point, its mean over the runs with the 95 % t-interval, wins,
losses and ties, the paired p and its Holm-adjusted value over every row of the table.
"""

from __future__ import annotations

import math

import pandas as pd

from drsn_fd.evaluate.collect import Run
from drsn_fd.evaluate.stats import GROUP_KEYS, holm, paired_stats, sort_table

POINT_KEYS = ["curve_kind", "curve_snr"]  # the test point: noise kind and SNR (NaN: clean windows)
COLUMNS = [*GROUP_KEYS, *POINT_KEYS, "n_pairs", "diff_mean", "t_low", "t_high", "cross_better",
           "within_better", "ties", "within_mean", "cross_mean", "p", "p_holm", "unconverged"]


def point_table(runs: list[Run], table: pd.DataFrame) -> pd.DataFrame:
    """One row per run of `table` and test point with both accuracies: `within` and `cross`.

    The test point itself comes from the table row (`acc`, `acc_within`), so a row read back from a
    report's runs.csv counts as a run folder does; the points of the two robustness curves come
    from the run's record where there is one (the curve's point at the test noise is the same
    draw, so it counts once).
    """
    by_folder = {r.folder: r.metrics for r in runs if r.completed}
    rows = []
    for _, run in table.iterrows():
        m = by_folder.get(run["folder"])
        within = _within(run, m)
        if within is None:  # not a shift protocol: no within-record test
            continue
        merged: dict[tuple, dict] = {}
        if m is not None:
            points = {**_curve(m.get("robustness_within"), "within"), **_curve(m.get("robustness"), "cross")}
            for (point, side), acc in points.items():
                merged.setdefault(point, {})[side] = acc
        merged[_test_point(run)] = {"within": within, "cross": float(run["acc"])}
        for (kind, snr), acc in merged.items():
            if {"within", "cross"} <= set(acc):
                rows.append({**{k: run[k] for k in [*GROUP_KEYS, "seed", "unconverged"]},
                             "curve_kind": kind, "curve_snr": math.nan if snr is None else snr, **acc})
    return pd.DataFrame(rows, columns=[*GROUP_KEYS, "seed", "unconverged", *POINT_KEYS, "within", "cross"])


def _within(run: pd.Series, m: dict | None) -> float | None:
    """The row's within-record test accuracy: the table's `acc_within`, else its record's `test_within`."""
    value = run.get("acc_within")
    if value is not None and not pd.isna(value):
        return float(value)
    if m is not None and isinstance(m.get("test_within"), dict):
        return float(m["test_within"]["best"]["acc"])
    return None


def _test_point(run: pd.Series) -> tuple[str, float | None]:
    """The row's test point: its noise at its test SNR, or the clean windows (a clean run's)."""
    return _key("clean", None) if str(run["test_snr"]) == "clean" else _key(run["noise"], float(run["test_snr"]))


def within_cross_table(points: pd.DataFrame) -> pd.DataFrame:
    """Per group and test point: the paired statistics of cross − within (accuracy, 0..1)."""
    rows = []
    for key, g in points.groupby([*GROUP_KEYS, *POINT_KEYS], sort=False, dropna=False):
        s = paired_stats((g["cross"] - g["within"]).to_numpy())
        rows.append({**dict(zip([*GROUP_KEYS, *POINT_KEYS], key, strict=True)), **s,
                     "cross_better": s["drsn_better"], "within_better": s["baseline_better"],
                     "within_mean": float(g["within"].mean()), "cross_mean": float(g["cross"].mean()),
                     "unconverged": int(g["unconverged"].eq(True).sum())})
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["p_holm"] = holm(out["p"].to_numpy(dtype=float)) if len(out) else []
    return sort_table(out)


def _curve(curve, side: str) -> dict:
    """{((kind, snr), side): acc} of a robustness curve; a malformed point is left out."""
    out = {}
    for p in curve if isinstance(curve, list) else []:
        try:
            out[(_key(p["kind"], p.get("snr")), side)] = float(p["acc"])
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _key(kind, snr) -> tuple[str, float | None]:
    """A test point: (noise kind, SNR in dB), or ('clean', None) for the clean windows."""
    return ("clean", None) if snr is None else (str(kind), float(snr))
