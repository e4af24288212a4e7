"""The sweep report (drsn-report PATH..., and the Hydra callback at the end of a multirun).

Reads every metrics.json under the PATHs, and the rows of each PATH that is an earlier report's
runs.csv (`published.py`), and writes into the first PATH or `out`:

- runs.csv: one row per completed run: its group keys and condition, seed, test accuracy of the
  best (acc) and last (acc_last) weights, within the training records (acc_within), macro-F1,
  and its convergence (convergence.py: best epoch, last training accuracy and loss, best
  validation accuracy, threads, device, the 'may not have converged' flag), and `duplicate`;
- results.csv: one row per group (model x data x noise kind x training SNR x protocol x test SNR
  x condition): n, mean and std over seeds of test accuracy and macro-F1 (accuracies 0..1);
- results_paired.csv: each DRSN model against each baseline (resnet, se_resnet) of the sweep, paired
  by seed on the same test windows, with p and its Holm-adjusted value over the table;
- results_paired_scores.csv: the same pairs on the last weights and within the training records
  (`paired_scores.py`);
- results_within_cross.csv: cross-domain − within-record of each run of a shift protocol
  (within_cross.py), over seeds, with p and Holm p;
- results_robustness.csv: the robustness curves averaged over seeds;
- results_seed_parts.csv: runs that differ in one part of training alone (seeds.init, seeds.order,
  seeds.train_noise, trainer.threads or seed): their spread per part (`seed_parts.py`);
- results_adapt.csv: adapt=bn − none of the evaluations made with drsn-evaluate adapt=bn, paired
  within each evaluation and over seeds (`adapt_report.py`);
- results.md: those tables in %, the figures, and the failed or unfinished runs;
- acc_vs_snr_<kind>.png, robustness_<kind>.png, paired_<kind>.png, confusion_<kind>.png.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from drsn_fd.errors import DrsnError
from drsn_fd.evaluate.adapt_report import adapt_markdown, adapt_table
from drsn_fd.evaluate.collect import Run, collect
from drsn_fd.evaluate.condition import rescores_own_test
from drsn_fd.evaluate.convergence import FLAG
from drsn_fd.evaluate.curves import curve_means, curve_table
from drsn_fd.evaluate.paired_scores import NOTE as SCORES_NOTE
from drsn_fd.evaluate.paired_scores import paired_scores_table
from drsn_fd.evaluate.published import is_runs_csv, read_runs_csv
from drsn_fd.evaluate.report_checks import (
    P_NOTE,
    WITHIN_CROSS_NOTE,
    common_line,
    condition_column,
    convergence_markdown,
    duplicates_markdown,
    within_cross_markdown,
)
from drsn_fd.evaluate.report_figures import write_figures
from drsn_fd.evaluate.report_format import DASH, flagged, p_value
from drsn_fd.evaluate.report_format import cell as _cell
from drsn_fd.evaluate.report_format import interval as _interval
from drsn_fd.evaluate.report_format import md_table as _md
from drsn_fd.evaluate.report_format import pm as _pm
from drsn_fd.evaluate.report_format import pp as _pp
from drsn_fd.evaluate.seed_parts import NOTE as PARTS_NOTE
from drsn_fd.evaluate.seed_parts import seed_parts_markdown, seed_parts_table
from drsn_fd.evaluate.stats import (
    BOOTSTRAP_SEED,
    N_RESAMPLES,
    baselines,
    drsn_models,
    duplicates,
    group_table,
    paired_table,
    run_table,
    sort_table,
    split_of,
    without_duplicates,
)
from drsn_fd.evaluate.within_cross import point_table, within_cross_table
from drsn_fd.io import write_text

log = logging.getLogger(__name__)


def make_report(paths: list[Path], out: Path | None = None) -> str:
    """Write the report of every run under `paths` into `out` (default: the first path).

    Returns the summary: the groups and paired tables, the failed runs and the output folder.
    Raises DrsnError when there is nothing to report (no metrics.json at all), when a runs.csv is
    not a report's, or when `out` is the folder of a runs.csv it reads (it would write over it).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise DrsnError("no PATH given: nothing to report")
    published = [p for p in paths if is_runs_csv(p)]
    runs = collect([p for p in paths if p not in published], named=bool(published)) \
        if len(published) < len(paths) else []
    first = paths[0]
    out = Path(out) if out is not None else (first.parent if first.is_file() else first)
    if any(p.parent.resolve() == out.resolve() for p in published):
        raise DrsnError(f"the report would write over its own input {out / 'runs.csv'}: give --out another folder")
    table = run_table(runs)
    if published:  # an empty frame would make every column `object`
        frames = [t for t in [table, *(read_runs_csv(p)[table.columns] for p in published)] if not t.empty]
        table = sort_table(pd.concat(frames, ignore_index=True)) if frames else table
    single = without_duplicates(table)  # two runs of one cell count in no group and no pair
    if not single.empty:  # nor does an evaluation that re-scores its run's own test split
        single = single[~single["condition"].map(rescores_own_test)]
    groups = group_table(single) if not single.empty else pd.DataFrame()
    paired = paired_table(single)
    scores = paired_scores_table(single)
    curves = curve_table(runs, single)
    curve_avg = curve_means(curves) if not curves.empty else pd.DataFrame()
    within = within_cross_table(point_table(runs, single))
    parts = seed_parts_table(single)
    try:
        write_text(out / "runs.csv", _runs_csv(table))
        write_text(out / "results.csv", _groups_csv(groups))
        write_text(out / "results_paired.csv", paired.to_csv(index=False))
        if not scores.empty:
            write_text(out / "results_paired_scores.csv", scores.to_csv(index=False))
        write_text(out / "results_robustness.csv", curve_avg.to_csv(index=False))
        if not within.empty:
            write_text(out / "results_within_cross.csv", within.to_csv(index=False))
        if not parts.empty:
            write_text(out / "results_seed_parts.csv", parts.to_csv(index=False))
        figures, notes = [], []
        if not single.empty:
            figures, notes = write_figures(out, runs, single, groups, paired, curves, curve_avg, within)
        write_text(out / "results.md", markdown(paths, runs, table, groups, paired, figures, notes, within=within,
                                                 parts=parts, scores=scores))
        adapt = adapt_table(runs, table)  # drsn-evaluate adapt=bn: a section of its own, last
        if not adapt.empty:
            write_text(out / "results_adapt.csv", adapt.to_csv(index=False))
            write_text(out / "results.md", (out / "results.md").read_text() + "\n" + adapt_markdown(adapt))
    except OSError as e:
        raise DrsnError(f"cannot write the report to {out}: {e.strerror or e}") from None
    return summary(paths, runs, table, groups, paired, out, figures, within=within, parts=parts, scores=scores)


# ---------------------------------------------------------------- tables and text

def _runs_csv(table: pd.DataFrame) -> str:
    """runs.csv: every completed run, duplicates marked, without the internal data id."""
    t = table.drop(columns=["data_id"]).assign(duplicate=table.index.isin(duplicates(table).index))
    for col in ("best_epoch", "epochs", "threads"):  # whole numbers, empty where not recorded
        t[col] = pd.to_numeric(t[col], errors="coerce").astype("Int64")
    return t.to_csv(index=False)


def _groups_csv(groups: pd.DataFrame) -> str:
    cols = ["data", "model", "noise", "protocol", "train_snr", "test_snr", "condition", "n", "acc_mean", "acc_std",
            "macro_f1_mean", "macro_f1_std", "seeds", "unconverged"]
    return (groups[cols] if not groups.empty else pd.DataFrame(columns=cols)).to_csv(index=False)


def _snr_columns(t: pd.DataFrame) -> dict:
    """One 'SNR (dB)' column when every row is matched, else the training and test SNRs."""
    if (t["protocol"] == "matched").all():
        return {"SNR (dB)": t["train_snr"]}
    return {"train SNR (dB)": t["train_snr"], "test SNR (dB)": t["test_snr"]}


def groups_markdown(groups: pd.DataFrame) -> str:
    """The groups table in %, mean ± std over seeds."""
    if groups.empty:
        return "No completed runs yet."
    t = groups
    cols = {"data": t["data"]} if t["data"].nunique() > 1 else {}
    cols.update(condition_column(t))
    cols.update({"model": t["model"], "noise": t["noise"], "protocol": t["protocol"], **_snr_columns(t),
                 "n": t["n"], "test acc (%)": [_pm(m, s) for m, s in zip(t["acc_mean"], t["acc_std"], strict=True)],
                 "macro-F1 (%)": [_pm(m, s) for m, s in zip(t["macro_f1_mean"], t["macro_f1_std"], strict=True)],
                 FLAG: [flagged(u, n) for u, n in zip(t["unconverged"], t["n"], strict=True)]})
    return _md(pd.DataFrame(cols), left=("data", "condition", "model", "noise", "protocol"))


def paired_markdown(paired: pd.DataFrame) -> str:
    """The paired table: mean difference and intervals in percentage points."""
    if paired.empty:
        return (f"No pairs: a pair needs a DRSN run ({', '.join(drsn_models())}) and a {_baselines(' or ')} run "
                "with the same seed, data, noise kind, training SNR, protocol and condition.")
    t = paired
    cols = {"DRSN model": t["model"], "baseline": t["baseline"]}
    if t["data"].nunique() > 1:
        cols["data"] = t["data"]
    cols.update(condition_column(t))
    cols.update({"noise": t["noise"], "protocol": t["protocol"], **_snr_columns(t), "pairs": t["n_pairs"],
                 "Δacc (pp)": [_pp(v) for v in t["diff_mean"]],
                 "95 % t-interval (pp)": [_interval(lo, hi) for lo, hi in zip(t["t_low"], t["t_high"], strict=True)],
                 "95 % bootstrap (pp)": [_interval(lo, hi) for lo, hi in zip(t["boot_low"], t["boot_high"], strict=True)],
                 "DRSN / baseline better / ties": [f"{a} / {b} / {c}" for a, b, c in
                                                 zip(t["drsn_better"], t["baseline_better"], t["ties"], strict=True)],
                 "p": [p_value(v) for v in t["p"]], "Holm p": [p_value(v) for v in t["p_holm"]],
                 FLAG: [flagged(v) for v in t["unconverged"]]})
    return _md(pd.DataFrame(cols), left=("DRSN model", "baseline", "data", "condition", "noise", "protocol"))


def failed_markdown(runs: list[Run]) -> str:
    """The runs that are not completed: folder, status, error."""
    bad = sorted((r for r in runs if not r.completed), key=lambda r: r.folder)
    if not bad:
        return "None: every run completed."
    rows = [{"folder": f"`{r.folder}`", "status": r.status, "error": _cell(r.error) or DASH} for r in bad]
    return _md(pd.DataFrame(rows), left=("folder", "status", "error"))


PAIRED_NOTE = (
    "Δacc = test accuracy of the DRSN model − that of its baseline, in percentage points: resnet, and "
    "se_resnet where the sweep has it (the same attention subnetwork, scaling features by alpha instead "
    "of thresholding them: it tells the thresholds from the attention). Averaged over "
    "pairs of runs that share seed, data set, noise kind, training SNR, protocol and condition, so both were "
    "scored on the very same noisy test windows. The **t-interval** is mean ± t(0.975, n − 1) · s / √n "
    "(s: the sample std of the paired differences). The **bootstrap** interval is the 2.5 and 97.5 "
    f"percentiles of the mean over {N_RESAMPLES} resamples of the pairs (scipy.stats.bootstrap, "
    f"percentile method, seed {BOOTSTRAP_SEED}). With few pairs the bootstrap interval is too narrow "
    "(with 3 pairs it is about the range of the differences): read the t-interval there. "
    f"{DASH}: fewer than 2 pairs. "
    "The next column counts the pairs in which each model scored higher, and the ties. " + P_NOTE)


def markdown(paths: list[Path], runs: list[Run], table, groups, paired, figures: list[str],
             notes: list[str], *, within: pd.DataFrame | None = None, parts: pd.DataFrame | None = None,
             scores: pd.DataFrame | None = None) -> str:
    """results.md: where the numbers come from, the tables, the figures, the failed runs."""
    lines = ["# Sweep report", "", _counts(paths, runs, table), ""]
    lines += _setup(runs, table)
    lines += ["", "## Groups: mean ± std over seeds", "",
              "Test accuracy and macro-F1 in %, on the test split, scored once with the checkpoint chosen "
              "on validation accuracy (`test.best`); std is the sample std (ddof = 1) over seeds, "
              f"{DASH} where n = 1. Protocols: matched = trained and tested at the same SNR; "
              "clean-to-noisy = trained clean, tested noisy; mixed = a random SNR per training window in "
              "the range shown, tested at the test SNR. Condition: the experiment and sweep overrides "
              "the run recorded (model and seed aside); two runs of one cell are left out (Duplicate runs). "
              f"{FLAG}: the group's runs so flagged (Convergence).", "", groups_markdown(groups), "",
              f"## Paired comparison: DRSN − baseline ({_baselines(', ')})", "", PAIRED_NOTE, "", paired_markdown(paired), ""]
    if scores is not None and not scores.empty:
        lines += ["## The same pairs on the last weights and within the training records", "", SCORES_NOTE, ""]
        for score, t in scores.groupby("score", sort=False):
            lines += [f"**{score}**", "", paired_markdown(t.drop(columns="score")), ""]
    if within is not None and not within.empty:
        lines += ["## Within-record against cross-domain: cross − within of each run", "", WITHIN_CROSS_NOTE, "",
                  within_cross_markdown(within), ""]
    if parts is not None and not parts.empty:
        lines += ["## Which part of training decides where a run ends", "", PARTS_NOTE, "",
                  seed_parts_markdown(parts), ""]
    if figures:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    lines += ["## Convergence", "", convergence_markdown(table), ""]
    lines += ["## Duplicate runs", "", duplicates_markdown(duplicates(table) if not table.empty else table), ""]
    lines += ["## Failed or unfinished runs", "", failed_markdown(runs), ""]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def summary(paths, runs, table, groups, paired, out: Path, figures: list[str], *,
            within: pd.DataFrame | None = None, parts: pd.DataFrame | None = None,
            scores: pd.DataFrame | None = None) -> str:
    """What drsn-report prints and the callback logs."""
    bad = [r for r in runs if not r.completed]
    lines = [_counts(paths, runs, table), "", "Groups (test accuracy and macro-F1 in %, mean ± std over seeds):",
             groups_markdown(groups), "", f"Paired DRSN − baseline ({_baselines(', ')}; accuracy, pp; 95 % t- and bootstrap "
             "intervals; p, Holm p):", paired_markdown(paired), ""]
    if within is not None and not within.empty:
        lines += ["Within-record against cross-domain (cross − within of each run, pp):", within_cross_markdown(within), ""]
    dup = duplicates(table) if not table.empty else table
    flags = int(table["unconverged"].eq(True).sum()) if "unconverged" in table else 0
    lines += [f"Runs flagged '{FLAG}': {flags or 'none'} (results.md, Convergence)",
              f"Duplicate runs, left out of groups and pairs: {len(dup) or 'none'}"]
    lines += [f"  {f}" for f in dup["folder"]] if len(dup) else []
    lines += [f"Failed or unfinished runs: {len(bad) or 'none'}"]
    lines += [f"  {r.folder}  [{r.status}]  {r.error}".rstrip() for r in sorted(bad, key=lambda r: r.folder)]
    files = ["results.md", "runs.csv", "results.csv", "results_paired.csv", "results_robustness.csv",
             *(["results_paired_scores.csv"] if scores is not None and not scores.empty else []),
             *(["results_within_cross.csv"] if within is not None and not within.empty else []),
             *(["results_seed_parts.csv"] if parts is not None and not parts.empty else []), *figures]
    lines += ["", f"Report written to {out}: {', '.join(files)}"]
    return "\n".join(lines)


def _counts(paths: list[Path], runs: list[Run], table) -> str:
    """How many runs each PATH gave: the records under folders, the rows of each runs.csv."""
    done = sum(r.completed for r in runs)
    by_status: dict[str, int] = {}
    for r in runs:
        if not r.completed:
            by_status[r.status] = by_status.get(r.status, 0) + 1
    rest = "".join(f", {n} {s}" for s, n in sorted(by_status.items()))
    folders = [p for p in paths if not is_runs_csv(p)]
    lines = [f"{len(runs)} runs under {', '.join(f'`{p}`' for p in folders)}: {done} completed{rest}."] if folders else []
    for p in paths:
        if is_runs_csv(p):
            n = int(table["folder"].str.startswith(f"{p.as_posix()}:").sum()) if not table.empty else 0
            lines.append(f"{n} completed runs read back from `{p}` (a report's runs.csv: no curves or confusion "
                         "matrices).")
    return " ".join(lines)


def _setup(runs: list[Run], table) -> list[str]:
    """One line per data set (classes, rate, window, split) and the epochs trained."""
    if table.empty:
        return []
    by_folder = {r.folder: r.metrics for r in runs if r.completed}
    lines = []
    for data, g in table.groupby("data", sort=False):
        recorded = [f for f in g["folder"] if f in by_folder]
        if not recorded:
            lines.append(f"- Data **{data}**: read back from a runs.csv; its classes and split are in that report.")
            continue
        d = by_folder[recorded[0]]["data"]
        classes = d.get("classes") or []
        split, within = d.get("split"), split_of(d).startswith("within")
        parts = "train/val/test" if within else "train/val/within-record test"
        split = (f", split {parts} {'/'.join(f'{s:g}' for s in split)} of each {'' if within else 'training '}"
                 f"record, by time{'' if within else '; test: the whole records of the other domain'}") \
            if isinstance(split, list) and all(isinstance(s, (int, float)) for s in split) else ""
        lines.append(f"- Data **{data}**: {len(classes)} classes ({', '.join(map(str, classes))}), "
                     f"{d.get('fs')} Hz, windows of {d.get('window')} samples{split}.")
    epochs = sorted({int(e) for e in table["epochs"] if e is not None and not pd.isna(e)})
    if epochs:
        lines.append(f"- Epochs: {', '.join(map(str, epochs))}.")
    return lines + common_line(table)


def _baselines(sep: str) -> str:
    return sep.join(baselines())


