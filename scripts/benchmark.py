"""Speed and memory of the training step, the real pipeline and evaluation.

For each model (paper size and width x4) on each device it measures:
  bare   train-step throughput on ready-made device batches (windows/s)
  e2e    training throughput through drsn_fd's real run(): noise, normalisation, step and
         per-epoch validation, checkpoints and TensorBoard included (windowing done before)
  eval   inference throughput in eval mode on the test windows (windows/s)
  peak   peak memory: CUDA max allocated, or the process's peak RSS on CPU
and estimates the wall time of `sweep=paper` on that device.

    python scripts/benchmark.py                       # CPU, and CUDA where present
    python scripts/benchmark.py --devices cpu --epochs 3 --json bench.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from drsn_fd.data.pipeline import NoisyWindows
from drsn_fd.evaluate.predict import predict
from drsn_fd.models import create_model
from drsn_fd.train.loop import run

PAPER_SWEEP_RUNS = 4 * 3 * 11 * 5  # models x noise kinds x SNRs x seeds
PAPER_EPOCHS = 100


def compose(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module


    with initialize_config_module(config_module="drsn_fd.configs", version_base="1.3"):
        return hydra_compose(config_name="train", overrides=overrides)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare_step(name: str, width: float, device: torch.device, batch: int, window: int, steps: int,
              amp: bool, compile_: bool) -> float:
    """Windows/s of forward+backward+SGD step on batches already on the device."""
    torch.manual_seed(0)
    model = create_model(name, num_classes=10, width=width).to(device)
    step_model = torch.compile(model) if compile_ else model
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    xs = torch.randn(8, batch, 1, window, device=device)
    ys = torch.randint(0, 10, (8, batch), device=device)
    ctx = torch.autocast("cuda", torch.bfloat16) if amp else torch.autocast("cpu", enabled=False)
    model.train()

    def one(i: int) -> None:
        with ctx:
            loss = F.cross_entropy(step_model(xs[i % 8]).float(), ys[i % 8])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(max(3, steps // 5)):
        one(i)
    sync(device)
    t = time.perf_counter()
    for i in range(steps):
        one(i)
    sync(device)
    return steps * batch / (time.perf_counter() - t)


def end_to_end(name: str, width: float, device: torch.device, epochs: int, extra: list[str]) -> dict:
    """Throughput of run() on the default simulated data, from its own per-epoch timings."""
    cfg = compose([f"model={name}", f"model.width={width}", f"device={device}", f"trainer.epochs={epochs}",
                   "eval.snrs=[0]", *extra])
    with tempfile.TemporaryDirectory() as tmp:
        rec = run(cfg, Path(tmp))
    n_train = rec["data"]["windows"]["train"]
    secs = [h["seconds"] for h in rec["history"]][1:] or [rec["history"][0]["seconds"]]  # skip warm-up epoch
    per_epoch = sum(secs) / len(secs)
    return {"e2e": n_train / per_epoch, "epoch_s": per_epoch, "n_train": n_train, "cfg": cfg,
            "run_s": rec["timings"]["total_s"], "eval_s": rec["timings"]["eval_s"]}


def eval_throughput(name: str, width: float, device: torch.device, cfg, amp: bool) -> float:
    from drsn_fd.data.windows import build_windows

    ws = build_windows(cfg.data)
    data = NoisyWindows(ws, cfg, device)
    x = data.fixed("test", "gaussian", 0.0)
    x = x.repeat(max(1, 8192 // len(x)), 1, 1)
    y = torch.zeros(len(x), dtype=torch.long, device=device)
    model = create_model(name, num_classes=len(ws.classes), width=width).to(device)
    predict(model, x, y, 2048, amp)
    sync(device)
    t = time.perf_counter()
    predict(model, x, y, 2048, amp)
    sync(device)
    return len(x) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    ap.add_argument("--models", nargs="+", default=["resnet", "drsn_cs", "drsn_cw"])
    ap.add_argument("--widths", nargs="+", type=float, default=[1.0, 4.0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--epochs", type=int, default=3, help="epochs of the end-to-end run (first is warm-up)")
    ap.add_argument("--compile", choices=["auto", "true", "false"], default="auto")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()

    rows = []
    for dev_name in args.devices:
        device = torch.device(dev_name)
        amp = device.type == "cuda"
        compile_ = device.type == "cuda" if args.compile == "auto" else args.compile == "true"
        extra = [f"trainer.compile={compile_}", f"trainer.amp={amp}", f"trainer.batch_size={args.batch}"]
        for width in args.widths:
            for name in args.models:
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                bare = bare_step(name, width, device, args.batch, 2048, args.steps, amp, compile_)
                e2e = end_to_end(name, width, device, args.epochs, extra)
                ev = eval_throughput(name, width, device, e2e["cfg"], amp)
                rows.append({"device": dev_name, "model": name, "width": width, "batch": args.batch,
                             "bare_w_s": round(bare), "e2e_w_s": round(e2e["e2e"]),
                             "e2e_over_bare": round(e2e["e2e"] / bare, 3), "eval_w_s": round(ev),
                             "epoch_s": round(e2e["epoch_s"], 3), "peak_mb": round(peak_memory_mb(device), 1),
                             "n_train": e2e["n_train"]})
                print(rows[-1], file=sys.stderr, flush=True)

    import pandas as pd

    df = pd.DataFrame(rows)
    for _, g in df.groupby(["device", "width"]):
        r = g.set_index("model")
        if {"resnet", "drsn_cw"} <= set(r.index):
            df.loc[g.index, "step_vs_resnet"] = (r.loc["resnet", "bare_w_s"] / g["bare_w_s"]).round(3).values
    print(f"\nmachine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}"
          + (f", {torch.cuda.get_device_name()}" if "cuda" in args.devices else ""))
    print(df.drop(columns=["n_train"]).to_markdown(index=False))
    print("\nestimated wall time of sweep=paper "
          f"({PAPER_SWEEP_RUNS} runs x {PAPER_EPOCHS} epochs, one job at a time, paper-size models):")
    for dev, g in df[df["width"] == 1.0].groupby("device"):
        epoch_s = g["epoch_s"].mean()
        hours = PAPER_SWEEP_RUNS * PAPER_EPOCHS * epoch_s / 3600
        print(f"  {dev}: {hours:.1f} h ({epoch_s:.3f} s per epoch on {int(g['n_train'].iloc[0])} windows)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
