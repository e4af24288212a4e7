"""Runs read back from a report's runs.csv: the rows drsn-report wrote, as runs of a new report.

A sweep's run folders hold checkpoints and TensorBoard logs and are seldom kept; the runs.csv of
its report is (docs/results/*/runs.csv). Given to drsn-report as a PATH, a runs.csv adds its rows
to the table of runs: they count in the groups, the pairs (with the runs of other PATHs that share
their cell: data label, noise, protocol, SNRs, condition and seed), the paired scores, the
within-against-cross table at the test point, the convergence table and the duplicate check, as
the runs they were written from did. What only a metrics.json holds (robustness curves, confusion
matrices, the other test points of a shift protocol, evaluations) covers the runs with a record.

Each row's folder is named `<runs.csv>:<its folder>`, so the report says where every run came
from. A file that is not a report's runs.csv is refused with the columns it lacks.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from drsn_fd.errors import DrsnError
from drsn_fd.evaluate.convergence import COLUMNS as CONVERGENCE
from drsn_fd.evaluate.stats import GROUP_KEYS, PART_COLUMNS

NAME = "runs.csv"
REQUIRED = [*GROUP_KEYS, "seed", "acc", "macro_f1", "folder"]
TEXT = [*GROUP_KEYS, "folder", "device", "unconverged_why"]
FLAGS = ["precise_bn", "unconverged"]  # True, False, or empty: not recorded


def is_runs_csv(path: Path) -> bool:
    """Whether a drsn-report PATH names a report's runs.csv rather than a folder or a metrics.json."""
    return Path(path).name == NAME and Path(path).is_file()


def read_runs_csv(path: Path) -> pd.DataFrame:
    """The rows of a report's runs.csv with the columns and types of `stats.run_table`.

    Raises DrsnError naming the file when it cannot be read or lacks a column the report needs.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise DrsnError(f"{path}: cannot read it as a report's runs.csv ({e})") from None
    lacks = [c for c in REQUIRED if c not in raw.columns]
    if lacks:
        raise DrsnError(f"{path} is not a runs.csv written by drsn-report: it lacks the column(s) "
                        f"{', '.join(lacks)}")
    t = raw.drop(columns=["duplicate"], errors="ignore")
    try:
        t["seed"] = t["seed"].astype(int)
        for col in PART_COLUMNS:  # an older report's: every part drew from `seed`
            t[col] = t[col].astype(int) if col in t and t[col].ne("").all() else t["seed"]
    except ValueError as e:
        raise DrsnError(f"{path}: a seed is not a whole number ({e})") from None
    for col in ["acc", "macro_f1", "acc_within", *CONVERGENCE]:
        if col in TEXT or col in FLAGS:
            continue
        t[col] = pd.to_numeric(t[col], errors="coerce") if col in t else float("nan")
    if t["acc"].isna().any():
        raise DrsnError(f"{path}: a row has no test accuracy (column acc)")
    for col in FLAGS:
        t[col] = t[col].map({"True": True, "False": False}) if col in t else None
        t[col] = t[col].astype(object).where(t[col].notna(), None)
    for col in TEXT:
        if col not in t:
            t[col] = ""
    t["folder"] = f"{path.as_posix()}:" + t["folder"]
    t["data_id"] = f"{path.as_posix()}|" + t["data"]
    return t
