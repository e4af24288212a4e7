"""Figures: the robustness curve of one run, and the figures of the sweep report."""

from __future__ import annotations

import zlib

from drsn_fd.errors import ConfigError
from drsn_fd.models import model_entry


def curve_figure(curve: list[dict], title: str):
    """Test accuracy against test SNR, one line per noise kind, clean as a dashed level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    kinds = sorted({p["kind"] for p in curve if p["snr"] is not None})
    for k in kinds:
        pts = sorted((p["snr"], p["acc"]) for p in curve if p["kind"] == k and p["snr"] is not None)
        ax.plot([s for s, _ in pts], [100 * a for _, a in pts], marker="o", label=k)
    clean = [p["acc"] for p in curve if p["snr"] is None]
    if clean:
        ax.axhline(100 * clean[0], ls="--", color="grey", label="clean")
    ax.set_xlabel("test SNR (dB)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- the sweep report's figures

# for a model the registry does not hold (an old run's): none of them is a registered model's colour
EXTRA_COLOURS = ["#8c564b", "#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939", "#843c39"]


def model_colour(model: str) -> str:
    """The colour of a model in every figure: its registry entry's; for a name the registry does
    not hold, one of EXTRA_COLOURS, the same for that name in every report."""
    try:
        return model_entry(model).colour
    except ConfigError:
        return EXTRA_COLOURS[zlib.crc32(str(model).encode()) % len(EXTRA_COLOURS)]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _wrap(title: str, width: int = 60) -> str:
    import textwrap

    return textwrap.fill(title, width)


def _panels(n: int, width: float = 5.2, height: float = 3.9, share_y: bool = True):
    """A figure with n panels, up to three a row (four as 2 x 2); returns (fig, the n axes)."""
    plt = _plt()
    cols = 2 if n == 4 else min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.6), sharey=share_y,
                             squeeze=False, constrained_layout=True)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def acc_vs_snr_figure(groups, models: list[str], title: str):
    """Matched runs: mean test accuracy against the SNR, one line per model, a band of +-1 std.

    `groups` has the columns model, snr (dB), acc_mean, acc_std, n (accuracies 0..1).
    """
    fig, (ax,) = _panels(1, 6.4, 4.4)
    for model in models:
        g = groups[groups["model"] == model].sort_values("snr")
        if g.empty:
            continue
        mean, std = 100 * g["acc_mean"].to_numpy(), 100 * g["acc_std"].fillna(0).to_numpy()
        n = sorted(set(g["n"]))
        seeds = f"{n[0]}" if len(n) == 1 else f"{n[0]}-{n[-1]}"
        colour = model_colour(model)
        ax.plot(g["snr"], mean, marker="o", color=colour, label=f"{model} (n = {seeds} seeds)")
        ax.fill_between(g["snr"], mean - std, mean + std, color=colour, alpha=0.15, lw=0)
    ax.set_xticks(sorted(groups["snr"].unique()))
    ax.set_xlabel("SNR of training and test noise (dB)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="model (band: ±1 std over seeds)", title_fontsize=8)
    ax.set_title(title, fontsize=9)
    return fig


def robustness_figure(panels: list[tuple[str, object, float | None]], models: list[str], title: str):
    """Test accuracy against test SNR, a panel per training condition, one line per model.

    Each panel is (title, curve, training SNR to mark or None); a curve has the columns model,
    curve_snr (NaN: the clean test windows, drawn at the right as 'clean'), acc_mean, acc_std.
    """
    import numpy as np

    fig, axes = _panels(len(panels))
    for ax, (name, curve, mark) in zip(axes, panels, strict=True):
        snrs = sorted(curve["curve_snr"].dropna().unique())
        step = float(np.min(np.diff(snrs))) if len(snrs) > 1 else 2.0
        clean_x = (snrs[-1] if snrs else 0.0) + 1.5 * step
        for model in models:
            g = curve[curve["model"] == model]
            if g.empty:
                continue
            colour = model_colour(model)
            noisy = g[g["curve_snr"].notna()].sort_values("curve_snr")
            mean, std = 100 * noisy["acc_mean"].to_numpy(), 100 * noisy["acc_std"].fillna(0).to_numpy()
            ax.plot(noisy["curve_snr"], mean, marker="o", ms=3, color=colour, label=model)
            ax.fill_between(noisy["curve_snr"], mean - std, mean + std, color=colour, alpha=0.12, lw=0)
            clean = g[g["curve_snr"].isna()]
            if not clean.empty:
                ax.errorbar([clean_x], 100 * clean["acc_mean"].to_numpy(),
                            yerr=100 * clean["acc_std"].fillna(0).to_numpy(), fmt="s", color=colour, capsize=3)
        if mark is not None:
            ax.axvline(mark, color="black", ls=":", lw=1, label="training SNR")
        ticks = list(snrs) + ([clean_x] if curve["curve_snr"].isna().any() else [])
        ax.set_xticks(ticks, [f"{s:g}" for s in snrs] + (["clean"] if len(ticks) > len(snrs) else []))
        ax.set_xlabel("test SNR (dB)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(_wrap(name), fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, title="model (band: ±1 std over seeds)", title_fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def paired_figure(panels: list[tuple[str, str, object]], models: list[str], title: str, baseline: str):
    """DRSN - `baseline` accuracy difference against SNR with its 95 % intervals, a zero line.

    Each panel is (title, x-axis label, pairs); pairs have the columns model, snr (dB),
    diff_mean, t_low, t_high, boot_low, boot_high (accuracy 0..1). Bars: t-interval;
    shaded: bootstrap percentile interval.
    """
    from matplotlib.lines import Line2D

    fig, axes = _panels(len(panels), share_y=False)
    offsets = {m: (i - (len(models) - 1) / 2) * 0.12 for i, m in enumerate(models)}
    for ax, (name, xlabel, pairs) in zip(axes, panels, strict=True):
        ax.axhline(0, color="black", lw=1)
        for model in models:
            g = pairs[pairs["model"] == model].sort_values("snr")
            if g.empty:
                continue
            colour = model_colour(model)
            x = g["snr"].to_numpy() + offsets[model]
            mean = 100 * g["diff_mean"].to_numpy()
            ax.vlines(x, 100 * g["boot_low"], 100 * g["boot_high"], color=colour, lw=7, alpha=0.25)
            err = [mean - 100 * g["t_low"].to_numpy(), 100 * g["t_high"].to_numpy() - mean]
            ax.errorbar(x, mean, yerr=err, fmt="o-", color=colour, capsize=3, label=f"{model} − {baseline}")
        ax.set_xticks(sorted(pairs["snr"].unique()))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"accuracy difference, DRSN − {baseline} (pp)")
        ax.set_title(_wrap(name), fontsize=9)
        ax.grid(alpha=0.3)
    handles, _ = axes[0].get_legend_handles_labels()
    handles += [Line2D([], [], color="grey", marker="|", ms=10, ls="", label="95 % t-interval (bars)"),
                Line2D([], [], color="grey", lw=7, alpha=0.25, label="95 % bootstrap interval (shaded)")]
    axes[0].legend(handles=handles, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def confusion_grid_figure(panels: list[tuple[str, object, list[str]]], title: str):
    """Confusion matrices side by side: (panel title, counts, class names) per model."""
    from drsn_fd.evaluate.metrics import draw_confusion

    k = max(len(c) for _, _, c in panels)
    fig, axes = _panels(len(panels), 1.6 + 0.5 * k, 1.4 + 0.45 * k, share_y=False)
    im = None
    for ax, (name, counts, classes) in zip(axes, panels, strict=True):
        im = draw_confusion(ax, counts, classes, name)
        ax.title.set_fontsize(9)
    fig.colorbar(im, ax=axes, fraction=0.03, label="share of true class")
    fig.suptitle(title, fontsize=10)
    return fig


def forest_figure(rows: list[dict], title: str, xlabel: str):
    """Mean differences with their 95 % intervals, a line per label and a marker per series; a zero line.

    Each row: label (the line), series (the legend), mean, low, high (pp; low and high NaN: no
    interval), and optionally colour (else the series' place in matplotlib's tab10).
    """
    import math

    plt = _plt()
    labels = list(dict.fromkeys(r["label"] for r in rows))
    series = list(dict.fromkeys(r["series"] for r in rows))
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(labels) * max(1, len(series)) ** 0.5 + 1.6),
                           constrained_layout=True)
    step, drawn = 0.6 / max(len(series), 1), set()
    for r in rows:
        k = series.index(r["series"])
        y = labels.index(r["label"]) + (k - (len(series) - 1) / 2) * step
        lo, hi, mean = r["low"], r["high"], r["mean"]
        err = None if math.isnan(lo) or math.isnan(hi) else [[mean - lo], [hi - mean]]
        ax.errorbar([mean], [y], xerr=err, fmt="o", ms=4, capsize=3, color=r.get("colour") or f"C{k % 10}",
                    label=None if r["series"] in drawn else r["series"])
        drawn.add(r["series"])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(labels)), [_wrap(lb, 70) for lb in labels], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(_wrap(title, 90), fontsize=9)
    return fig
