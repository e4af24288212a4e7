"""CPU thread policies of a training run, on a quiet machine and beside busy processes.

For each policy it runs the real CLI, `drsn-train trainer.epochs=3 'eval.snrs=[0]'
logger.enabled=false`, and reads the seconds of epochs 2 and 3 from metrics.json (epoch 1 is
warm-up). The competing load is 0, 1 or 2 processes that spin on the CPU; the script starts them
before the run and stops them after. Policies:

  default   torch's default thread count (one per core), OpenMP threads spin-wait
  1         trainer.threads=1
  passive   OMP_WAIT_POLICY=PASSIVE before torch loads (threads sleep instead of spinning)
  free      trainer.threads=auto: the cores idle at start
  passive+free  both

    python scripts/bench_threads.py [--repeats 2] [--loads 0 1 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

POLICIES = {
    "default": ({"OMP_WAIT_POLICY": None}, ["trainer.threads=null"]),
    "1": ({"OMP_WAIT_POLICY": None}, ["trainer.threads=1"]),
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, ["trainer.threads=null"]),
    "free": ({"OMP_WAIT_POLICY": None}, ["trainer.threads=auto"]),
    "passive+free": ({"OMP_WAIT_POLICY": "PASSIVE"}, ["trainer.threads=auto"]),
}
RUN = ["trainer.epochs=3", "eval.snrs=[0]", "logger.enabled=false", "device=cpu"]


def _spin(stop) -> None:
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1_000_003


def epoch_seconds(policy: str, folder: Path) -> tuple[float, int]:
    """(mean seconds of epochs 2..3, threads used) of one run under `policy`."""
    env_over, overrides = POLICIES[policy]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    for k, v in env_over.items():
        env.pop(k, None) if v is None else env.__setitem__(k, v)
    out = folder / policy
    cmd = [shutil.which("drsn-train") or str(Path(sys.executable).parent / "drsn-train"), *RUN, *overrides,
           f"hydra.run.dir={out}"]
    subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=folder)
    m = json.loads((out / "metrics.json").read_text())
    return sum(h["seconds"] for h in m["history"][1:]) / (len(m["history"]) - 1), int(m.get("threads") or 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--loads", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--policies", nargs="+", default=list(POLICIES))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    for load in args.loads:
        stop = mp.Event()
        busy = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(load)]
        for p in busy:
            p.start()
        time.sleep(1.0)
        try:
            for rep in range(args.repeats):
                for policy in args.policies:
                    with tempfile.TemporaryDirectory() as tmp:
                        s, threads = epoch_seconds(policy, Path(tmp))
                    rows.append({"busy": load, "policy": policy, "repeat": rep, "threads": threads, "epoch_s": s})
                    print(f"busy {load}  {policy:<13} threads {threads}  {s:.2f} s/epoch", flush=True)
        finally:
            stop.set()
            for p in busy:
                p.join()
    df = pd.DataFrame(rows)
    table = df.groupby(["policy", "busy"])["epoch_s"].median().unstack("busy")
    quiet = table[0] if 0 in table else None
    out = table.rename(columns=lambda b: f"busy {b}: s/epoch")
    if quiet is not None:
        for b in table.columns:
            if b:
                out[f"busy {b}: kept"] = (quiet / table[b]).round(2)  # share of its own quiet rate
        out["quiet vs fastest"] = (quiet / quiet.min()).round(2)
    print("\nmedian seconds per epoch (epochs 2-3), and the share of its quiet-machine rate each keeps:")
    print(out.reindex(args.policies).round(2).to_markdown())
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
