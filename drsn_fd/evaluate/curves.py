"""The robustness curves of a sweep: one row per run and curve point, averaged over seeds, paired.

A curve point belongs to what its run was trained on (CONDITION: data, noise kind, protocol,
training SNR and the recorded condition), the curve's test kind and SNR.
"""

from __future__ import annotations

import math

import pandas as pd

from drsn_fd.evaluate.collect import Run
from drsn_fd.evaluate.stats import CONDITION, paired_table, sort_table

CURVE_KEYS = [*CONDITION, "curve_kind", "curve_snr"]


def curve_table(runs: list[Run], table: pd.DataFrame) -> pd.DataFrame:
    """One row per completed run and robustness point: what it was trained on, the test kind and SNR.

    `curve_snr` is NaN for the clean test windows (curve_kind 'clean').
    """
    labels = dict(zip(table["folder"], table["data"], strict=True))
    rows = []
    for r in runs:
        if not r.completed or r.folder not in labels:
            continue
        row = table[table["folder"] == r.folder].iloc[0]
        for p in r.metrics.get("robustness") or []:
            try:
                snr = math.nan if p.get("snr") is None else float(p["snr"])
                rows.append({**{k: row[k] for k in [*CONDITION, "model", "test_snr", "seed"]},
                             "curve_kind": str(p["kind"]), "curve_snr": snr, "acc": float(p["acc"])})
            except (KeyError, TypeError, ValueError):
                continue  # a malformed point is left out, the run's other points are kept
    return pd.DataFrame(rows, columns=[*CONDITION, "model", "test_snr", "seed", "curve_kind",
                                       "curve_snr", "acc"])


def curve_means(curves: pd.DataFrame) -> pd.DataFrame:
    """The robustness curves averaged over seeds: mean, std and n per model, condition and point.

    Runs of one seed that differ only in their test SNR (mixed, clean-to-noisy) trained alike
    and count once, unless their recorded conditions differ (a sweep over noise.snr): those are
    curves of their own.
    """
    keys = [*CURVE_KEYS, "model"]
    per_seed = curves.groupby([*keys, "seed"], sort=False, dropna=False)["acc"].mean().reset_index()
    out = per_seed.groupby(keys, sort=False, dropna=False)["acc"].agg(
        acc_mean="mean", acc_std="std", n="size").reset_index()
    return sort_table(out)


def curve_pairs(curves: pd.DataFrame) -> pd.DataFrame:
    """Paired DRSN - baseline differences along the robustness curves (noisy points only)."""
    noisy = curves[curves["curve_snr"].notna()]
    per_seed = noisy.groupby([*CURVE_KEYS, "model", "seed"], sort=False)["acc"].mean().reset_index()
    return paired_table(per_seed, keys=CURVE_KEYS)
