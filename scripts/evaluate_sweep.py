"""drsn-evaluate on every completed training run of a sweep, e.g. AdaBN (`adapt=bn`) after hit_transfer.

Each run's evaluation goes into its own folder (RUN/evaluate/<overrides>), where `drsn-report SWEEP`
finds it beside the run and pairs the forms (adapt=bn − none) over seeds. A run whose evaluation
folder already holds a completed metrics.json is skipped, so the script can be re-run after a stop.

    python scripts/evaluate_sweep.py multirun/hit_transfer adapt=bn
    python scripts/evaluate_sweep.py multirun/cross_load noise.snr=-4 data.root=/path/to/cwru
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from drsn_fd.errors import DrsnError
from drsn_fd.evaluate.collect import collect
from drsn_fd.evaluate.rescore import rescore, short_name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep", type=Path, help="a sweep folder of drsn-train")
    ap.add_argument("overrides", nargs="*", help="adapt=bn, data=NAME, data.*=, noise.*=, eval.*= as drsn-evaluate takes")
    args = ap.parse_args()
    opts = dict(o.split("=", 1) for o in args.overrides if o.split("=", 1)[0] in ("adapt", "data"))
    rest = [o for o in args.overrides if o.split("=", 1)[0] not in ("adapt", "data")]
    given = [*([f"data={opts['data']}"] if "data" in opts else []), *rest,
             *([f"adapt={opts['adapt']}"] if opts.get("adapt", "none") != "none" else [])]
    try:
        runs = [r for r in collect([args.sweep]) if r.completed and r.metrics.get("protocol") != "evaluate"]
    except DrsnError as e:
        raise SystemExit(f"evaluate_sweep: error: {e}") from None
    t0, done = time.perf_counter(), 0
    for r in runs:
        ckpt = Path(r.metrics["run_dir"]) / "checkpoints" / "best.pt"
        out = ckpt.parent.parent / "evaluate" / short_name(given, ckpt)
        if (out / "metrics.json").is_file() and json.loads((out / "metrics.json").read_text()).get("status") == "completed":
            continue
        try:
            rec = rescore(ckpt, rest, out, data=opts.get("data"), adapt=opts.get("adapt", "none"))
        except DrsnError as e:
            print(f"{r.folder}: error: {e}")
            continue
        done += 1
        print(f"{r.folder}: test accuracy {rec['test']['best']['acc']:.4f} -> {out}", flush=True)
    print(f"{done} evaluations written, {len(runs) - done} already there or refused, {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
