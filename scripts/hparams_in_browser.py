"""Does TensorBoard's HParams tab show what a sweep varies? A 2 x 2 sweep, then a real browser.

Runs `drsn-train -m experiment=smoke model=resnet,drsn_cw noise.snr=-4,0` into a temporary
folder, serves it with TensorBoard on 127.0.0.1, asks TensorBoard's HParams endpoint which
hyperparameters and runs the tab lists (in its order), and, where headless Chromium is
installed, saves a screenshot of the HParams tab (`--out`, default hparams.png).

    python scripts/hparams_in_browser.py [--out hparams.png]

Exit status 1 when the swept keys (model, noise.snr) are not the first hyperparameters listed,
or a run's name does not hold its overrides and seed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SWEPT = ["model", "noise.snr"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("hparams.png"))
    args = ap.parse_args()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "sweep"
        env = {**os.environ, "MPLBACKEND": "Agg"}
        subprocess.run([str(bindir / "drsn-train"), "-m", "experiment=smoke", "device=cpu", "model=resnet,drsn_cw",
                        "noise.snr=-4,0", f"hydra.sweep.dir={sweep}"], check=True, capture_output=True, env=env, cwd=tmp)
        port = _free_port()
        tb = subprocess.Popen([str(bindir / "tensorboard"), "--logdir", str(sweep), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            exp = {}
            for _ in range(60):  # TensorBoard reads the event files in the background
                time.sleep(1)
                try:
                    exp = _post(f"{base}/data/plugin/hparams/experiment", {"experimentName": ""})
                except OSError:
                    continue
                if exp.get("hparamInfos"):
                    break
            names = [h["name"] for h in exp.get("hparamInfos", [])]
            groups = _post(f"{base}/data/plugin/hparams/session_groups",
                           {"experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS"],
                            "colParams": [], "startIndex": 0, "sliceSize": 100})
            sessions = sorted(g["name"] for g in groups.get("sessionGroups", []))
            print("hyperparameters, in the order the tab lists them:", ", ".join(names))
            print("metrics:", ", ".join(m["name"]["tag"] for m in exp.get("metricInfos", [])))
            print("runs (trial ids):", *sessions, sep="\n  ")
            browser = shutil.which("chromium") or shutil.which("chromium-browser")
            if browser:
                subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                "--window-size=1600,900", "--virtual-time-budget=15000",
                                f"--screenshot={args.out.resolve()}", f"{base}/#hparams"],
                               capture_output=True, timeout=120)
                print(f"screenshot of the HParams tab: {args.out}")
            else:
                print("no chromium here: no screenshot (apt-get install chromium)")
        finally:
            tb.terminate()
            tb.wait(timeout=30)
    ok = names[: len(SWEPT)] == SWEPT and len(sessions) == 4 and all("seed=" in s and "model=" in s for s in sessions)
    print("OK: the swept keys come first and each run is named by its overrides and seed" if ok else "NOT OK")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
