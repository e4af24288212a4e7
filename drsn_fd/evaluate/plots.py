"""Figures of one run (the sweep report has its own in report.py)."""

from __future__ import annotations


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
