"""`drsn-data info`: the records, the windows per class and split, and the realised SNRs."""

from __future__ import annotations

import pandas as pd
import torch
from omegaconf import DictConfig

from drsn_fd.data.noise import KINDS, add_noise, derived_seed, generator, realised_snr_db
from drsn_fd.data.windows import build_windows


def describe(cfg: DictConfig) -> str:
    """What the data config selects and how the noise comes out, as text."""
    ws = build_windows(cfg.data)
    recs = pd.DataFrame([r.summary() for r in ws.records])
    recs["fs in -> out"] = recs["fs_in"].astype(str) + " -> " + recs["fs"].astype(str)
    counts = pd.DataFrame(ws.counts())
    counts.loc["total"] = counts.sum()
    snr = cfg.noise.snr if cfg.noise.kind != "none" else 0
    x = torch.from_numpy(ws.splits["test"].x[:512]).unsqueeze(1)
    lines = [f"data: {cfg.data.name} ({cfg.data.source}), channel {cfg.data.channel}, "
             f"window {ws.window} at {ws.fs} Hz, split {list(cfg.data.split)}",
             "", "records", recs[["file", "label", "load", "rpm", "fs in -> out", "samples"]].to_string(index=False),
             "", "windows per class and split", counts.to_string(),
             "", f"realised SNR of {len(x)} test windows at noise.snr={snr} dB"]
    for kind in (k for k in KINDS if k != "none"):
        r = realised_snr_db(x, add_noise(x, float(snr), kind, generator(derived_seed(cfg.seed, "info", kind, snr))))
        lines.append(f"  {kind:<10} mean {r.mean():+.4f} dB  min {r.min():+.4f}  max {r.max():+.4f}")
    return "\n".join(lines)
