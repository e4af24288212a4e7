"""Tables and figure of the shrinkage study (sweep=shrinkage_study) for docs/findings.md.

Reads every run under the sweep folder, names each run's condition by its `experiment=` override,
and writes into --out (default docs/results/shrinkage_study):

  runs.csv     one row per run: condition, model, seed, test accuracy (best by validation)
  table.md     per condition: mean ± std accuracy of each model, and the paired differences
               drsn_cw - resnet and drsn_cw - se_resnet (same seed, same test windows) with their
               95 % t-interval and wins / losses / ties
  paired.png   those paired differences with their intervals, one row per condition

    python scripts/shrinkage_study.py multirun/<date>/<time> [more sweep folders] [--out DIR]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

from drsn_fd.evaluate.collect import collect
from drsn_fd.evaluate.stats import paired_stats
from drsn_fd.io import save_figure, write_text

CONDITIONS = {  # experiment name -> (row label, what it tests)
    "shrinkage_gaussian": "1 Gaussian, fresh train noise",
    "shrinkage_fixed_train": "2 Gaussian, fixed train noise",
    "shrinkage_small_train": "3 Gaussian, 10 % training set",
    "shrinkage_impulsive": "4 impulsive noise",
    "shrinkage_student_t": "5 Student-t noise (dof 3)",
    "shrinkage_cross_load": "6 cross-load 0 -> 1 hp",
    "shrinkage_mixed": "7 mixed training, tested at -8 dB",
}
MODELS = ["drsn_cw", "se_resnet", "resnet"]
PAIRS = [("drsn_cw", "resnet"), ("drsn_cw", "se_resnet")]


def run_rows(sweeps: list[Path]) -> pd.DataFrame:
    rows = []
    for r in collect(sweeps):
        m = re.search(r"experiment=([A-Za-z0-9_]+)", r.folder)
        if not r.completed or m is None:
            continue
        rows.append({"condition": CONDITIONS.get(m.group(1), m.group(1)), "model": r.metrics["model"],
                     "seed": int(r.metrics["seed"]), "acc": float(r.metrics["test"]["best"]["acc"]),
                     "total_s": float(r.metrics.get("timings", {}).get("total_s", float("nan")))})
    return pd.DataFrame(rows).sort_values(["condition", "model", "seed"]).reset_index(drop=True)


def paired(runs: pd.DataFrame) -> pd.DataFrame:
    out = []
    for cond, g in runs.groupby("condition", sort=True):
        wide = g.pivot_table(index="seed", columns="model", values="acc")
        for a, b in PAIRS:
            if a in wide and b in wide:
                d = (wide[a] - wide[b]).dropna().to_numpy()
                out.append({"condition": cond, "pair": f"{a} - {b}", **paired_stats(d)})
    return pd.DataFrame(out)


def table_md(runs: pd.DataFrame, pairs: pd.DataFrame) -> str:
    acc = runs.groupby(["condition", "model"])["acc"].agg(["mean", "std", "size"]).reset_index()
    lines = ["| condition | " + " | ".join(f"{m} acc (%)" for m in MODELS)
             + " | " + " | ".join(f"{a} − {b} (pp) [95 % t-interval], wins/losses/ties" for a, b in PAIRS) + " |",
             "|---|" + "---:|" * (len(MODELS) + len(PAIRS))]
    for cond in sorted(runs["condition"].unique()):
        cells = []
        for m in MODELS:
            r = acc[(acc["condition"] == cond) & (acc["model"] == m)]
            cells.append("—" if r.empty else f"{100 * r['mean'].iloc[0]:.2f} ± {100 * r['std'].iloc[0]:.2f} (n={r['size'].iloc[0]})")
        for a, b in PAIRS:
            p = pairs[(pairs["condition"] == cond) & (pairs["pair"] == f"{a} - {b}")]
            if p.empty:
                cells.append("—")
                continue
            p = p.iloc[0]
            cells.append(f"{100 * p['diff_mean']:+.2f} [{100 * p['t_low']:+.2f}, {100 * p['t_high']:+.2f}], "
                         f"{p['drsn_better']}/{p['baseline_better']}/{p['ties']}")
        lines.append(f"| {cond} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def figure(pairs: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conds = sorted(pairs["condition"].unique())
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(conds) + 1.4), constrained_layout=True)
    for k, (pair, colour) in enumerate(zip([f"{a} - {b}" for a, b in PAIRS], ["tab:blue", "tab:orange"], strict=True)):
        p = pairs[pairs["pair"] == pair].set_index("condition").reindex(conds)
        y = [i + (k - 0.5) * 0.25 for i in range(len(conds))]
        ax.errorbar(100 * p["diff_mean"], y, xerr=[100 * (p["diff_mean"] - p["t_low"]), 100 * (p["t_high"] - p["diff_mean"])],
                    fmt="o", color=colour, capsize=3, label=pair.replace(" - ", " − "))
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(conds)), conds)
    ax.invert_yaxis()
    ax.set_xlabel("paired accuracy difference (percentage points), mean and 95 % t-interval over 5 seeds")
    ax.legend(loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Does DRSN-CW beat ResNet, and the attention-only control? (real CWRU, test at -8 dB)", fontsize=9)
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweeps", type=Path, nargs="+", help="the sweep folder(s): a condition rerun on its own is a second folder")
    ap.add_argument("--out", type=Path, default=Path("docs/results/shrinkage_study"))
    args = ap.parse_args()
    runs = run_rows(args.sweeps)
    pairs = paired(runs)
    write_text(args.out / "runs.csv", runs.to_csv(index=False))
    write_text(args.out / "paired.csv", pairs.to_csv(index=False))
    md = table_md(runs, pairs)
    write_text(args.out / "table.md", md)
    save_figure(args.out / "paired.png", figure(pairs))
    print(md)
    print(f"{len(runs)} completed runs; summed run time {runs['total_s'].sum() / 60:.1f} min; wrote {args.out}")


if __name__ == "__main__":
    main()
