"""`drsn-data info`: the records, the windows per class and split, and the realised SNRs."""

from __future__ import annotations

import pandas as pd
import torch
from omegaconf import DictConfig

from drsn_fd.data.noise import KINDS, add_noise, derived_seed, generator, realised_snr_db
from drsn_fd.data.windows import build_windows


def print_info(cfg: DictConfig) -> None:
    """Print what the data config selects and how the noise comes out."""
    ws = build_windows(cfg.data)
    recs = pd.DataFrame([r.summary() for r in ws.records])
    recs["fs in -> out"] = recs["fs_in"].astype(str) + " -> " + recs["fs"].astype(str)
    print(f"data: {cfg.data.name} ({cfg.data.source}), channel {cfg.data.channel}, "
          f"window {ws.window} at {ws.fs} Hz, split {list(cfg.data.split)}")
    print("\nrecords")
    print(recs[["file", "label", "load", "rpm", "fs in -> out", "samples"]].to_string(index=False))
    counts = pd.DataFrame(ws.counts())
    counts.loc["total"] = counts.sum()
    print("\nwindows per class and split")
    print(counts.to_string())
    snr = cfg.noise.snr if cfg.noise.kind != "none" else 0
    x = torch.from_numpy(ws.splits["test"].x[:512]).unsqueeze(1)
    print(f"\nrealised SNR of {len(x)} test windows at noise.snr={snr} dB")
    for kind in KINDS[:-1]:
        r = realised_snr_db(x, add_noise(x, float(snr), kind, generator(derived_seed(cfg.seed, "info", kind, snr))))
        print(f"  {kind:<10} mean {r.mean():+.4f} dB  min {r.min():+.4f}  max {r.max():+.4f}")
