"""Within-record against cross-load accuracy of the cross-load sweep (sweep=cross_load), for the README.

A thin caller of the report: every number comes from `drsn-report`. Each run of that sweep is
tested twice, on a later stretch of its own training records (`test_within`,
`robustness_within`) and on the whole records of the other load (`test`, `robustness`); the
report pairs the two of each run, per model, condition and test point, with the 95 %
t-interval, wins / losses / ties, p and Holm p (results.md, "Within-record against
cross-domain"; results_within_cross.csv; within_vs_cross.png). This only picks the output
folder (default docs/results/cross_load_paper).

    python scripts/cross_load_study.py <sweep folder> [--out DIR]
    # the same as: drsn-report <sweep folder> --out docs/results/cross_load_paper
"""

from __future__ import annotations

import argparse
from pathlib import Path

from drsn_fd.errors import DrsnError
from drsn_fd.evaluate.report import make_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweeps", type=Path, nargs="+", help="the sweep folder(s)")
    ap.add_argument("--out", type=Path, default=Path("docs/results/cross_load_paper"))
    args = ap.parse_args()
    try:
        print(make_report(args.sweeps, args.out))
    except DrsnError as e:
        ap.exit(2, f"{ap.prog}: error: {e}\n")  # one line on stderr, as the drsn-* commands


if __name__ == "__main__":
    main()
