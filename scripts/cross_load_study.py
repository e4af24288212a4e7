"""Within-record against cross-load accuracy of the cross-load sweep (sweep=cross_load), for the README.

Every run of that sweep trains at one load and is tested twice: on a later stretch of its own
training records (within-record, `robustness_within` in metrics.json) and on the whole records of
the other load (cross-load, `robustness`). This script writes into --out (default
docs/results/cross_load):

  runs.csv    one row per run, test point and protocol: accuracy
  table.md    mean accuracy over seeds with its 95 % t-interval, within-record beside cross-load,
              per direction, training choice, model and test SNR
  within_vs_cross.png   the same as a figure

    python scripts/cross_load_study.py multirun/<date>/<time> [--out DIR]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd
from scipy import stats

from drsn_fd.evaluate.collect import collect
from drsn_fd.io import save_figure, write_text

MODELS = ["drsn_cw", "resnet", "wdcnn"]


def rows(sweep: Path) -> pd.DataFrame:
    out = []
    for r in collect([sweep]):
        m = r.metrics
        if not r.completed or "robustness_within" not in m:
            continue
        loads = m["config"]["data"]
        direction = f"{','.join(map(str, loads['loads']))} -> {','.join(map(str, loads['test_loads']))} hp"
        train = "mixed [-10, 10] dB" if m["protocol"] == "mixed" else f"matched {m['noise']['train_snr']:g} dB"
        for split, curve in (("within-record", m["robustness_within"]), ("cross-load", m["robustness"])):
            for p in curve:
                out.append({"direction": direction, "training": train, "model": m["model"], "seed": m["seed"],
                            "split": split, "test": "clean" if p["snr"] is None else f"{p['snr']:g} dB",
                            "acc": p["acc"]})
    return pd.DataFrame(out)


def ci(values: pd.Series) -> tuple[float, float, int]:
    n, mean = len(values), float(values.mean())
    half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
    return mean, half, n


def table(df: pd.DataFrame) -> str:
    tests = sorted(df["test"].unique(), key=lambda t: (t == "clean", float(t.split()[0]) if t != "clean" else 0))
    lines = ["| training on → test | training | model | " + " | ".join(f"{t}: within → cross (%)" for t in tests) + " |",
             "|---|---|---|" + "---:|" * len(tests)]
    for (direction, train, model), g in df.groupby(["direction", "training", "model"], sort=True):
        cells = []
        for t in tests:
            parts = []
            for split in ("within-record", "cross-load"):
                mean, half, n = ci(g[(g["test"] == t) & (g["split"] == split)]["acc"])
                parts.append(f"{100 * mean:.1f} ± {100 * half:.1f}")
            cells.append(" → ".join(parts))
        lines.append(f"| {direction} | {train} | {model} | " + " | ".join(cells) + " |")
    n = df.groupby(["direction", "training", "model", "split", "test"])["seed"].nunique()
    lines.append(f"\nMean ± half-width of the 95 % t-interval over {n.min()}–{n.max()} seeds.")
    return "\n".join(lines) + "\n"


def figure(df: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted(df.groupby(["direction", "training"]).groups)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), sharey=True, constrained_layout=True,
                             squeeze=False)
    axes = axes[0]
    order = sorted(df["test"].unique(), key=lambda t: (t == "clean", float(t.split()[0]) if t != "clean" else 0))
    for ax, (direction, train) in zip(axes, panels, strict=True):
        g = df[(df["direction"] == direction) & (df["training"] == train)]
        for model, colour in zip(MODELS, ["tab:blue", "tab:orange", "tab:green"], strict=True):
            for split, style in (("within-record", "--"), ("cross-load", "-")):
                s = g[(g["model"] == model) & (g["split"] == split)].groupby("test")["acc"].mean().reindex(order)
                ax.plot(range(len(order)), 100 * s.to_numpy(), style, marker="o", ms=3, color=colour,
                        label=f"{model}, {split}")
        ax.set_xticks(range(len(order)), order)
        ax.set_title(f"train {direction.split(' -> ')[0]} hp → test {direction.split(' -> ')[1]}\n{train}", fontsize=9)
        ax.set_xlabel("test noise (Gaussian)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%), mean over seeds")
    axes[-1].legend(fontsize=7)
    fig.suptitle("CWRU, nine fault classes: within-record (dashed) against cross-load (solid)", fontsize=10)
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep", type=Path)
    ap.add_argument("--out", type=Path, default=Path("docs/results/cross_load"))
    args = ap.parse_args()
    df = rows(args.sweep)
    write_text(args.out / "runs.csv", df.to_csv(index=False))
    md = table(df)
    write_text(args.out / "table.md", md)
    save_figure(args.out / "within_vs_cross.png", figure(df))
    print(md)
    print(f"{df[['direction', 'training', 'model', 'seed']].drop_duplicates().shape[0]} runs; wrote {args.out}")


if __name__ == "__main__":
    main()
