"""Tables of a sweep: one row per run, groups over seeds, and paired DRSN - baseline differences.

A group is model x data (name and split: within-record, cross-load or grouped) x noise kind x
training SNR x protocol x the test SNR (the training SNR under the matched protocol) x the run's
recorded condition (condition.py: its experiment and sweep overrides; '' for older runs). Pairs
share seed, data (name, classes, window), noise kind, training SNR, protocol, test SNR and
condition: the two models were scored on the very same windows. Two runs of one cell (group and
seed) are duplicates: named by the report, left out of groups and pairs, never averaged.
Each DRSN model is paired with every baseline of the sweep: resnet, and the se_resnet control.
Which models are DRSN or baselines, and their order, are the model registry's facts.
"""

from __future__ import annotations

import inspect
import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats

from drsn_fd.data.pipeline import test_snr, train_snr
from drsn_fd.data.seeds import SEED_PARTS
from drsn_fd.errors import ConfigError
from drsn_fd.evaluate.collect import Run
from drsn_fd.evaluate.condition import condition_label, with_scored_runs
from drsn_fd.evaluate.convergence import COLUMNS as CONVERGENCE
from drsn_fd.evaluate.convergence import convergence
from drsn_fd.models import list_models, model_entry
from drsn_fd.models.registry import ModelEntry

PART_COLUMNS = [f"seed_{p}" for p in SEED_PARTS]  # the seed of each part of training (data/seeds.py)
PROTOCOL_ORDER = ["matched", "mismatched", "clean-to-noisy", "mixed", "clean"]
CONDITION = ["data", "noise", "protocol", "train_snr", "condition"]  # what a model was trained on
GROUP_KEYS = ["data", "model", "noise", "protocol", "train_snr", "test_snr", "condition"]
PAIR_KEYS = ["data", "noise", "protocol", "train_snr", "test_snr", "condition"]
CONFIDENCE = 0.95
N_RESAMPLES = 9999
BOOTSTRAP_SEED = 0


def snr_label(value) -> str:
    """'-8' for a number, '[-5,5]' for a mixed range, 'clean' for none."""
    if value is None:
        return "clean"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(f"{float(v):g}" for v in value) + "]"
    return f"{float(value):g}"


def snr_order(label: str) -> float:
    """Sort key of an SNR label: numbers by value, a range by its middle, clean last."""
    if label == "clean":
        return math.inf
    if label.startswith("["):
        lo, hi = (float(v) for v in label[1:-1].split(","))
        return (lo + hi) / 2
    return float(label)


def registered(model: object) -> ModelEntry | None:
    """The registry entry of `model`; None for a name the registry does not hold (an old run's)."""
    try:
        return model_entry(model)
    except ConfigError:
        return None


def is_drsn(model: str) -> bool:
    """Models compared against the baselines: the registry's family 'drsn' (drsn_cs, drsn_cw).

    A model the registry no longer holds (an old run's) counts as DRSN by its name, drsn*.
    """
    entry = registered(model)
    return entry.is_drsn if entry is not None else str(model).startswith("drsn")


def drsn_models() -> tuple[str, ...]:
    """The registry's DRSN models, in display order."""
    return tuple(m for m in list_models() if model_entry(m).is_drsn)


def baselines() -> tuple[str, ...]:
    """What each DRSN model is paired with: the registry's baselines and controls (resnet, se_resnet)."""
    return tuple(m for m in list_models() if model_entry(m).is_baseline)


def figure_baseline() -> str:
    """The baseline the paired figures draw DRSN differences against: the first of family 'baseline'."""
    return next(m for m in list_models() if model_entry(m).family == "baseline")


def run_table(runs: list[Run]) -> pd.DataFrame:
    """One row per completed run: its group keys, seed, test accuracy and macro-F1 (best by val),
    the test accuracy within the training records (acc_within, shift protocols) and its
    convergence facts (convergence.py).

    A completed run whose metrics.json cannot give a row is marked 'incomplete' with the reason.
    """
    rows, records = [], []
    for r in runs:
        if not r.completed:
            continue
        try:
            rows.append(run_row(r))
            records.append((r.folder, r.metrics))
        except (KeyError, TypeError, ValueError, AttributeError) as e:  # listed, never raised
            r.status, r.error = "incomplete", f"completed, but metrics.json is malformed: {type(e).__name__}: {e}"
    cols = ["data", *GROUP_KEYS[1:], "seed", *PART_COLUMNS, "acc", "macro_f1", "acc_within", *CONVERGENCE, "folder",
            "data_id"]
    if not rows:
        return pd.DataFrame(columns=cols)
    table = pd.DataFrame(rows)
    table["condition"] = with_scored_runs(records, list(table["condition"]))
    table["data"] = _data_labels(table)
    return sort_table(table[cols])


def run_row(r: Run) -> dict:
    """The table row of a completed run; KeyError, TypeError or ValueError if it is malformed."""
    m, noise = r.metrics, r.metrics["noise"]
    kind = str(noise["kind"])
    best = m["test"]["best"]
    return {
        "data_id": _data_id(m["data"]), "data_name": f"{m['data']['name']}, {split_of(m['data'])}{_share(m['data'])}",
        "model": str(m["model"]), "noise": kind,
        "protocol": str(m["protocol"]) + (" (fixed train noise)" if noise.get("fixed_train") else ""),
        "train_snr": snr_label(train_snr(noise)), "test_snr": snr_label(test_snr(noise)),
        "seed": int(m["seed"]), **part_seeds(m), "acc": float(best["acc"]), "macro_f1": float(best["macro_f1"]),
        "condition": condition_label(m), "acc_within": _within(m), **convergence(m), "folder": r.folder,
    }


def part_seeds(record: dict) -> dict:
    """{seed_<part>: its seed} of a record: `seeds` where it has them, else `seed` (an older run's)."""
    own = record.get("seeds") if isinstance(record.get("seeds"), dict) else {}
    return {f"seed_{p}": int(own.get(p, record["seed"])) for p in SEED_PARTS}


def group_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof=1) and n over seeds of test accuracy and macro-F1, per group; `unconverged`
    counts its runs flagged 'may not have converged'. Duplicate runs are left out, never pooled."""
    table = without_duplicates(table)
    flags = table["unconverged"] if "unconverged" in table else pd.Series(None, index=table.index, dtype=object)
    g = table.assign(unconverged=flags.eq(True).astype(int)).groupby(GROUP_KEYS, sort=False)
    out = g.agg(n=("acc", "size"), acc_mean=("acc", "mean"), acc_std=("acc", "std"),
                macro_f1_mean=("macro_f1", "mean"), macro_f1_std=("macro_f1", "std"),
                seeds=("seed", lambda s: " ".join(map(str, sorted(s)))), unconverged=("unconverged", "sum")).reset_index()
    return sort_table(out)


def duplicates(table: pd.DataFrame) -> pd.DataFrame:
    """Runs that share model, group and seed with another run: two runs of one cell (left out of groups and pairs)."""
    return table[table.duplicated([*GROUP_KEYS, "seed"], keep=False)]


def without_duplicates(table: pd.DataFrame) -> pd.DataFrame:
    """The runs no other run shares a cell (group and seed) with."""
    return table[~table.duplicated([k for k in [*GROUP_KEYS, "seed"] if k in table], keep=False)]


def paired_stats(diff: np.ndarray) -> dict:
    """Mean paired difference, 95 % t- and bootstrap-percentile intervals, wins, losses, ties, and
    `p`: the two-sided paired t-test of a zero mean difference (scipy.stats.ttest_1samp).

    The intervals are NaN with fewer than two pairs; p is NaN there too, and where every
    difference is the same (zero variance: the t statistic is undefined).
    """
    d = np.asarray(diff, dtype=float)
    n = len(d)
    out = {"n_pairs": n, "diff_mean": float(d.mean()) if n else math.nan,
           "t_low": math.nan, "t_high": math.nan, "boot_low": math.nan, "boot_high": math.nan,
           "drsn_better": int((d > 0).sum()), "baseline_better": int((d < 0).sum()),
           "ties": int((d == 0).sum())}
    if n >= 2:
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * d.std(ddof=1) / math.sqrt(n)
        out["t_low"], out["t_high"] = out["diff_mean"] - half, out["diff_mean"] + half
        out["boot_low"], out["boot_high"] = bootstrap_interval(d)
    out["p"] = paired_p(d)
    return out


def paired_p(d: np.ndarray) -> float:
    """Two-sided p of the paired t-test on the differences `d`; NaN for n < 2 or zero variance."""
    d = np.asarray(d, dtype=float)
    if len(d) < 2 or np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())):
        return math.nan
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def holm(p) -> np.ndarray:
    """Holm-adjusted p-values over one family of comparisons (step-down, capped at 1).

    The k-th smallest of m p-values becomes max over j <= k of min(1, (m - j + 1) p_(j)). A NaN
    p (no test) stays NaN and does not count in m.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, math.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    order = np.argsort(q, kind="stable")
    scaled = (len(q) - np.arange(len(q))) * q[order]
    adjusted = np.empty(len(q))
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    out[ok] = adjusted
    return out


def bootstrap_interval(d: np.ndarray) -> tuple[float, float]:
    """Percentile bootstrap 95 % interval of the mean, with a fixed seed."""
    if np.all(d == d[0]):  # every resample has the same mean
        return float(d[0]), float(d[0])
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    seed_kw = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    res = stats.bootstrap((d,), np.mean, confidence_level=CONFIDENCE, n_resamples=N_RESAMPLES,
                          method="percentile", **{seed_kw: rng})
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def paired_table(table: pd.DataFrame, keys: list[str] = PAIR_KEYS, value: str = "acc",
                 against: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Each DRSN model against each baseline present (default: `baselines()`), on the runs that
    share `keys` and seed.

    One row per DRSN model, baseline and key; `diff_*` and the intervals are DRSN - baseline in
    the units of `value` (accuracy: 0..1); `p_holm` is Holm-adjusted over every row of the table;
    `unconverged` counts the runs of its pairs flagged 'may not have converged'.
    """
    cols = ["model", "baseline", *keys, "n_pairs", "diff_mean", "t_low", "t_high", "boot_low",
            "boot_high", "drsn_better", "baseline_better", "ties", "p", "p_holm", "unconverged"]
    on = [*keys, "seed"]
    single = table[~table.duplicated(["model", *on], keep=False)]
    rows = []
    for model, baseline in itertools.product(order_models(m for m in single["model"].unique() if is_drsn(m)),
                                             baselines() if against is None else against):
        base = single[single["model"] == baseline]
        pairs = single[single["model"] == model].merge(base, on=on, suffixes=("", "_base"))
        for key, g in pairs.groupby(keys, sort=False, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            diff = (g[value] - g[f"{value}_base"]).to_numpy()
            rows.append({"model": model, "baseline": baseline, **dict(zip(keys, key, strict=True)),
                         **paired_stats(diff), "unconverged": _flagged(g, "unconverged", "unconverged_base")})
    out = pd.DataFrame(rows, columns=cols)
    out["p_holm"] = holm(out["p"].to_numpy(dtype=float)) if len(out) else []
    return sort_table(out)


def _flagged(g: pd.DataFrame, *cols: str) -> int:
    """How many runs of `cols` in `g` are flagged 'may not have converged' (0 where not recorded)."""
    return int(sum(g[c].eq(True).sum() for c in cols if c in g))


def order_models(models) -> list[str]:
    """The registry's display order (convnet, resnet, se_resnet, wdcnn, drsn_cs, drsn_cw), then the
    models it does not hold (old runs') by name."""
    models = set(models)
    known = [m for m in list_models() if m in models]
    return known + sorted(models - set(known))


def sort_table(t: pd.DataFrame) -> pd.DataFrame:
    """Sort by data, noise, protocol, training SNR, test SNR, curve point, model, then baseline."""
    if t.empty:
        return t.reset_index(drop=True)
    key_cols = [c for c in ["data", "condition", "noise", "protocol", "train_snr", "test_snr", "curve_kind",
                            "curve_snr", "model", "baseline", "seed"] if c in t.columns]

    def key(col: pd.Series) -> pd.Series:
        if col.name in ("train_snr", "test_snr"):
            return col.map(snr_order)
        if col.name == "protocol":
            return col.map(lambda p: PROTOCOL_ORDER.index(p) if p in PROTOCOL_ORDER else 99)
        if col.name in ("model", "baseline"):
            order = order_models(col.unique())
            return col.map(order.index)
        return col

    return t.sort_values(key_cols, key=key, kind="stable").reset_index(drop=True)


def split_of(data: dict) -> str:
    """The run's split (within-record, cross-load or grouped); runs from before it was recorded were within-record."""
    return str(data.get("split_protocol") or "within-record (time split)")


def _share(data: dict) -> str:
    """', train 10 %' where data.train_fraction kept only part of each training segment."""
    f = data.get("train_fraction")
    return "" if f in (None, 1, 1.0) else f", train {100 * float(f):g} %"


def _data_id(data: dict) -> str:
    classes = data.get("classes") or []
    return f"{data['name']}, {split_of(data)}{_share(data)}|{','.join(map(str, classes))}|{data.get('window')}"


def _data_labels(table: pd.DataFrame) -> pd.Series:
    """The data set's name; with its classes and window where one name covers several set-ups."""
    labels: dict[str, str] = {}
    for name, ids in table.groupby("data_name")["data_id"].unique().items():
        for data_id in sorted(ids):
            _, classes, window = data_id.rsplit("|", 2)
            label = name if len(ids) == 1 else f"{name} ({len(classes.split(','))} classes, window {window})"
            base, k = label, 1
            while label in labels.values():  # same name, class count and window: other class names
                k += 1
                label = f"{base} #{k}"
            labels[data_id] = label
    return table["data_id"].map(labels)


def _within(m: dict) -> float:
    """test_within.best.acc: the test within the training records of a shift protocol; NaN without one."""
    within = m.get("test_within")
    best = within.get("best") if isinstance(within, dict) else None
    return float(best["acc"]) if isinstance(best, dict) and best.get("acc") is not None else math.nan
