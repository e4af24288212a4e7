"""The shrinkage study (sweep=shrinkage_study) for docs/findings.md: drsn-report computes it.

A thin caller of the report: every number comes from `drsn-report`, which groups the runs on
the condition each recorded in its metrics.json (`experiment=shrinkage_*`), never on folder
names, names two runs of one cell (a condition rerun into a second folder) instead of averaging
them, and gives every paired table its t-interval, p and Holm p. This only picks the output
folder. It writes into --out (default docs/results/shrinkage_study) what drsn-report writes:
results.md (the tables), runs.csv (one row per run, with its convergence), results.csv,
results_paired.csv and the figures (paired_conditions.png: every condition's pairs).

    python scripts/shrinkage_study.py <sweep folder> [more sweep folders] [--out DIR]
    # the same as: drsn-report <sweep folder> [more sweep folders] --out docs/results/shrinkage_study
"""

from __future__ import annotations

import argparse
from pathlib import Path

from drsn_fd.errors import DrsnError
from drsn_fd.evaluate.report import make_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweeps", type=Path, nargs="+", help="the sweep folder(s)")
    ap.add_argument("--out", type=Path, default=Path("docs/results/shrinkage_study"))
    args = ap.parse_args()
    try:
        print(make_report(args.sweeps, args.out))
    except DrsnError as e:
        ap.exit(2, f"{ap.prog}: error: {e}\n")  # one line on stderr, as the drsn-* commands


if __name__ == "__main__":
    main()
