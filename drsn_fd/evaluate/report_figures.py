"""The figures of the sweep report, each drawn by `plots`.

One per data set, setting and noise kind: the setting is the runs' recorded condition without
its noise overrides (condition.figure_setting), so runs of other settings are never drawn as one
line. Where the sweep records conditions, the paired differences of every condition in one
figure (paired_conditions.png), and the within-record against cross-domain differences
(within_vs_cross.png).
"""

from __future__ import annotations

import logging
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from drsn_fd.data.noise import list_noise_kinds
from drsn_fd.evaluate import plots
from drsn_fd.evaluate.collect import Run
from drsn_fd.evaluate.condition import common_part, distinct_part, figure_setting
from drsn_fd.evaluate.curves import curve_pairs
from drsn_fd.evaluate.stats import figure_baseline, order_models, snr_order
from drsn_fd.io import save_figure

log = logging.getLogger(__name__)

PANEL_KEYS = ["noise", "protocol", "train_snr", "condition"]  # one panel per training condition


def write_figures(out: Path, runs: list[Run], table, groups, paired, curves, curve_avg,
                  within=None) -> tuple[list[str], list[str]]:
    """Every figure of the report, per data set, setting and noise kind; returns (file names, problems)."""
    written, notes = [], []
    sets = list(dict.fromkeys(zip(table["data"], table["condition"].map(figure_setting), strict=True)))
    by_folder = {r.folder: r.metrics for r in runs if r.completed}
    pairs_on_curves = curve_pairs(curves) if not curves.empty else pd.DataFrame()
    jobs = [("paired_conditions.png", _paired_conditions, (paired,)),
            ("within_vs_cross.png", _within_vs_cross, (within,))]
    common = common_part(s for _, s in sets)
    for data, setting in sets:
        suffix = "" if len(sets) == 1 else "_" + _slug(f"{data} {distinct_part(setting, common)}")
        t, g, c, p, pc = (_subset(x, data, setting) for x in (table, groups, curve_avg, paired, pairs_on_curves))
        trained = _kinds(t["noise"])
        tested = _kinds(k for k in (c["curve_kind"] if not c.empty else []) if k != "clean")
        jobs += [(f"acc_vs_snr_{k}{suffix}.png", _acc_vs_snr, (g, data, k)) for k in trained]
        jobs += [(f"robustness_{k}{suffix}.png", _robustness, (c, data, k)) for k in tested]
        jobs += [(f"paired_{k}{suffix}.png", _paired, (p, pc, data, k)) for k in _kinds({*trained, *tested})]
        jobs += [(f"confusion_{k}{suffix}.png", _confusion, (t, by_folder, data, k)) for k in trained]
    for name, build, args in jobs:
        try:
            fig = build(*args)
            if fig is not None:
                save_figure(out / name, fig)
                written.append(name)
        except Exception as e:  # a figure never costs the tables; the problem is reported
            log.warning("figure %s failed", name, exc_info=True)
            notes.append(f"{name} could not be drawn: {type(e).__name__}: {e}")
    return sorted(written, key=_figure_order), notes


def _acc_vs_snr(groups, data: str, kind: str):
    g = groups[(groups["data"] == data) & (groups["noise"] == kind) & (groups["protocol"] == "matched")]
    if g.empty:
        return None
    g = g.assign(snr=g["train_snr"].map(snr_order))
    title = (f"{data}: test accuracy vs SNR, {kind} noise, matched protocol\n"
             f"(trained and tested at each SNR; mean ± std over {_seeds(g)})")
    return plots.acc_vs_snr_figure(g, order_models(g["model"]), title)


def _robustness(curve_avg, data: str, kind: str):
    c = curve_avg[(curve_avg["data"] == data) & curve_avg["curve_kind"].isin([kind, "clean"])]
    panels = []
    for (noise, protocol, train, cond), g in c.groupby(PANEL_KEYS, sort=False):
        if not (g["curve_kind"] == kind).any():
            continue
        mark = snr_order(train) if protocol in ("matched", "mismatched") and noise == kind else None
        panels.append((_condition(noise, protocol, train) + _noise_overrides(cond), g, mark))
    if not panels:
        return None
    title = (f"{data}: robustness to {kind} noise, test accuracy vs test SNR "
             "(mean ± std over seeds); one panel per training condition")
    return plots.robustness_figure(panels, order_models(c["model"]), title)


def _paired(paired, pairs_on_curves, data: str, kind: str):
    panels, baseline = [], figure_baseline()
    paired = paired[paired["baseline"] == baseline]  # the figures show DRSN - resnet; the tables all
    p = paired[(paired["data"] == data) & (paired["noise"] == kind) & (paired["protocol"] == "matched")]
    if not p.empty:
        panels.append(("matched protocol: trained and tested at each SNR", "SNR of training and test noise (dB)",
                       p.assign(snr=p["train_snr"].map(snr_order))))
    if not pairs_on_curves.empty:
        c = pairs_on_curves[(pairs_on_curves["data"] == data) & (pairs_on_curves["curve_kind"] == kind)
                            & (pairs_on_curves["protocol"] != "matched") & (pairs_on_curves["baseline"] == baseline)]
        for (noise, protocol, train, cond), g in c.groupby(PANEL_KEYS, sort=False):
            panels.append((_condition(noise, protocol, train) + _noise_overrides(cond) + " (robustness curve)",
                           f"test SNR, {kind} noise (dB)", g.assign(snr=g["curve_snr"])))
    if not panels:
        return None
    models = order_models(m for _, _, g in panels for m in g["model"])
    title = (f"{data}: paired accuracy difference DRSN − {baseline}, {kind} noise\n"
             "(pairs share seed and test windows; mean with 95 % intervals)")
    return plots.paired_figure(panels, models, title, baseline)


def _confusion(table, by_folder: dict, data: str, kind: str):
    t = table[(table["data"] == data) & (table["noise"] == kind)]
    if t.empty:
        return None
    protocol = "matched" if (t["protocol"] == "matched").any() else t["protocol"].iloc[0]
    t = t[t["protocol"] == protocol]
    lowest = min(t["test_snr"], key=snr_order)
    t = t[t["test_snr"] == lowest]
    train = t["train_snr"].iloc[0]
    t = t[t["train_snr"] == train]
    panels = []
    for model in order_models(t["model"]):
        folders = t[t["model"] == model]["folder"]
        best = [by_folder[f]["test"]["best"] for f in folders
                if f in by_folder and "confusion" in by_folder[f]["test"]["best"]]  # runs.csv rows have none
        if not best:
            continue
        counts = np.sum([np.asarray(b["confusion"]) for b in best], axis=0)
        classes = list(best[0].get("classes") or range(len(counts)))
        acc = np.trace(counts) / max(counts.sum(), 1)
        panels.append((f"{model}: {len(best)} seeds, accuracy {100 * acc:.1f} %", counts, classes))
    if not panels:
        return None
    at = "clean test windows" if lowest == "clean" else f"test SNR {lowest} dB"
    trained = "" if protocol == "matched" else f", {_condition(kind, protocol, train)}"
    title = (f"{data}: confusion matrices at the lowest SNR, {kind} noise, {protocol} protocol{trained}, "
             f"{at} (counts summed over seeds; colour: share of the true class)")
    return plots.confusion_grid_figure(panels, title)


def _paired_conditions(paired):
    """Every DRSN − baseline difference of a sweep that records conditions, a line per condition."""
    p = paired[paired["condition"] != ""] if not paired.empty else paired
    if p.empty or p["condition"].nunique() < 2:
        return None
    common = common_part(p["condition"].unique())
    rows = [{"label": _row_label(r, common), "series": f"{r['model']} − {r['baseline']}", "mean": 100 * r["diff_mean"],
             "low": 100 * r["t_low"], "high": 100 * r["t_high"]} for _, r in p.iterrows()]
    return plots.forest_figure(rows, "Paired accuracy difference, DRSN − baseline, per condition "
                               "(pairs share seed and test windows)",
                               "accuracy difference (pp), mean and 95 % t-interval over the pairs")


def _within_vs_cross(within):
    """Cross-domain − within-record of each run, per model, condition and test point."""
    if within is None or within.empty:
        return None
    common = common_part(within["condition"].unique())
    rows = [{"label": f"{_row_label(r, common)}: {'clean' if pd.isna(r['curve_snr']) else f'{r.curve_kind} {r.curve_snr:g} dB'}",
             "series": r["model"], "colour": plots.model_colour(r["model"]), "mean": 100 * r["diff_mean"],
             "low": 100 * r["t_low"], "high": 100 * r["t_high"]} for _, r in within.iterrows()]
    return plots.forest_figure(rows, "Cross-domain − within-record test accuracy of the same run",
                               "accuracy difference (pp), mean and 95 % t-interval over the runs")


def _row_label(r, common: str) -> str:
    """A row of a forest figure: its condition (without what every row's shares), else its data,
    noise, protocol and training SNR."""
    return distinct_part(r["condition"], common) or f"{r['data']}, {r['noise']}, {r['protocol']}, train {r['train_snr']} dB"


def _subset(t: pd.DataFrame, data: str, setting: str) -> pd.DataFrame:
    """The rows of one data set and setting."""
    if t is None or t.empty:
        return t if t is not None else pd.DataFrame()
    return t[(t["data"] == data) & (t["condition"].map(figure_setting) == setting)]


def _noise_overrides(cond: str) -> str:
    """' (noise.snr=-4)': what the condition of a panel sets beyond its setting, if anything."""
    extra = [t for t in cond.split() if t not in figure_setting(cond).split()]
    return f" ({' '.join(extra)})" if extra else ""


def _seeds(g: pd.DataFrame) -> str:
    """'n = 3 seeds', or the range where groups differ."""
    n = sorted(set(g["n"]))
    return f"n = {n[0]} seeds" if len(n) == 1 else f"n = {n[0]} to {n[-1]} seeds"


def _condition(noise: str, protocol: str, train: str) -> str:
    """A training condition in words, for panel titles."""
    if protocol == "clean-to-noisy":
        return "clean-to-noisy: trained clean"
    if protocol == "clean":
        return "trained and tested clean"
    if protocol == "mixed":
        return f"mixed: trained on {noise} noise, a random SNR per window in {train} dB"
    return f"{protocol}: trained on {noise} noise at {train} dB"


def _kinds(values) -> list[str]:
    """The noise registry's display order, then kinds it does not hold (an old run's, 'none') by name."""
    found = set(values)
    known = [k for k in list_noise_kinds() if k in found]
    return known + sorted(found - set(known))


def _figure_order(name: str) -> tuple:
    prefixes = ["acc_vs_snr", "robustness", "paired", "confusion"]
    stem = name.rsplit(".", 1)[0]
    for i, p in enumerate(prefixes):
        if stem.startswith(p):
            return i, stem
    return len(prefixes), stem


def _slug(text: str, limit: int = 80) -> str:
    """A file-name part: letters, digits and '-'; a long one cut, with a checksum of the whole."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text.replace("experiment=", "")).strip("-").lower() or "data"
    return slug if len(slug) <= limit else f"{slug[:limit].rstrip('-')}-{zlib.crc32(slug.encode()):08x}"
