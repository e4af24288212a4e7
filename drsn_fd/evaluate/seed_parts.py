"""Which part of training decides where a run ends: runs that differ in one part alone.

`sweep=seed_diagnosis` trains one model on one condition with every part seeded by `seed` (the
reference run), then changes one part at a time: the initial weights (`seeds.init`), the order
of the training windows (`seeds.order`), the training noise (`seeds.train_noise`) or the thread
count (`trainer.threads`: another order of floating-point sums). Val and test noise follow `seed`,
so these runs are scored on the very same windows.

For each part, the runs that differ from each other in that part alone (same data, noise,
protocol, test SNR, model, condition without those overrides, the other parts' seeds and
threads) form one row: n, the values the part took, mean, std (ddof 1) with its 95 % chi-square
interval, and the range of test accuracy (of the weights chosen on validation), and the mean and
std of the last weights' test accuracy (what checkpoint selection on a small validation split
adds). `seed` counts as a part too (every part at once), over runs whose parts all follow it.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from drsn_fd.evaluate.report_format import DASH
from drsn_fd.evaluate.report_format import md_table as _md
from drsn_fd.evaluate.stats import CONFIDENCE, GROUP_KEYS, PART_COLUMNS

PARTS = {"seed": "every part (seed)", "seed_init": "initial weights (seeds.init)",
         "seed_order": "window order (seeds.order)", "seed_train_noise": "training noise (seeds.train_noise)",
         "threads": "thread count (trainer.threads)"}
VARIED = ("seeds.", "trainer.threads=")  # the condition's overrides that only change a part
COLUMNS = ["data", "model", "noise", "protocol", "train_snr", "test_snr", "condition", "part", "held", "n", "values",
           "acc_mean", "acc_std", "std_low", "std_high", "acc_min", "acc_max", "last_mean", "last_std"]
NOTE = ("Each row: the runs that differ from each other in one part of training alone, scored on the same "
        "test windows (val and test noise follow `seed`). std: the sample std (ddof = 1) of their test "
        "accuracy, with its 95 % chi-square interval; range: lowest and highest; last weights: mean ± std of the "
        "last epoch's weights on the same test windows (no selection on validation). A part whose std is near "
        "that of `seed` (every part at once) moves a run's end as much as a new seed does.")


def base_condition(label: str) -> str:
    """The condition without the overrides that only seed a part or set the threads."""
    return " ".join(t for t in label.split() if not t.startswith(VARIED))


def std_interval(std: float, n: int) -> tuple[float, float]:
    """The 95 % chi-square interval of a normal sample's std from n values (NaN for n < 2)."""
    if n < 2 or math.isnan(std):
        return math.nan, math.nan
    df, tail = n - 1, (1 - CONFIDENCE) / 2
    return std * math.sqrt(df / stats.chi2.ppf(1 - tail, df)), std * math.sqrt(df / stats.chi2.ppf(tail, df))


def seed_parts_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (group, part) with at least two values of that part and everything else held;
    empty where only `seed` varies (no part was changed alone)."""
    if table.empty or not set(PART_COLUMNS) <= set(table.columns):
        return pd.DataFrame(columns=COLUMNS)
    t = table.assign(condition=table["condition"].map(base_condition),
                     threads=pd.to_numeric(table["threads"], errors="coerce").fillna(-1).astype(int))
    groups = GROUP_KEYS
    rows = []
    for part, name in PARTS.items():
        held = [c for c in ("seed", *PART_COLUMNS, "threads") if c != part]
        sub = t
        if part == "seed":  # every part follows the seed: the parts vary with it
            sub = t[(t[PART_COLUMNS].eq(t["seed"], axis=0)).all(axis=1)]
            held = ["threads"]
        for key, g in sub.groupby(groups + held, sort=False, dropna=False):
            if g[part].nunique() < 2:
                continue
            acc, last = g["acc"], pd.to_numeric(g["acc_last"], errors="coerce")
            std = float(acc.std(ddof=1))
            lo, hi = std_interval(std, len(acc))
            fixed = dict(zip(groups + held, key, strict=True))
            rows.append({**{k: fixed[k] for k in groups}, "part": name,
                         "held": " ".join(f"{c.removeprefix('seed_')}={fixed[c]}" for c in held),
                         "n": len(acc), "values": " ".join(map(str, sorted(g[part]))),
                         "acc_mean": float(acc.mean()), "acc_std": std, "std_low": lo, "std_high": hi,
                         "acc_min": float(acc.min()), "acc_max": float(acc.max()),
                         "last_mean": float(last.mean()), "last_std": float(last.std(ddof=1))})
    if all(r["part"] == PARTS["seed"] for r in rows):  # an ordinary sweep: its groups table says it all
        return pd.DataFrame(columns=COLUMNS)
    return pd.DataFrame(rows, columns=COLUMNS)


def seed_parts_markdown(parts: pd.DataFrame) -> str:
    """The section's table: accuracies in %, the std in pp with its interval."""
    def pct(v: float) -> str:
        return DASH if math.isnan(v) else f"{100 * v:.2f}"

    t = parts
    cols = {"model": t["model"]}
    if t["condition"].nunique() > 1:
        cols["condition"] = t["condition"]
    cols.update({"part changed": t["part"], "held": t["held"], "n": t["n"], "values": t["values"],
                 "test acc (%)": [pct(v) for v in t["acc_mean"]],
                 "std (pp)": [pct(v) for v in t["acc_std"]],
                 "95 % interval of the std (pp)": [f"[{pct(lo)}, {pct(hi)}]"
                                                   for lo, hi in zip(t["std_low"], t["std_high"], strict=True)],
                 "range (%)": [f"{pct(lo)}–{pct(hi)}" for lo, hi in zip(t["acc_min"], t["acc_max"], strict=True)],
                 "last weights (%)": [f"{pct(m)} ± {pct(sd)}" for m, sd in zip(t["last_mean"], t["last_std"], strict=True)]})
    return _md(pd.DataFrame(cols), left=("model", "condition", "part changed", "held", "values"))
