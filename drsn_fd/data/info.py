"""`drsn-data info`: the records (with their domains and RMS), the windows per class and split, and
the realised SNRs; a warning where classes differ in gain by more than GAIN_RATIO."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig

from drsn_fd.data.domains import show
from drsn_fd.data.noise import add_noise, derived_seed, generator, list_noise_kinds, realised_snr_db
from drsn_fd.data.records import Record
from drsn_fd.data.windows import build_windows

GAIN_RATIO = 10.0  # classes whose RMS differ by more: a model could tell them apart by gain alone
_DOMAINS = ("state", "load", "speed", "rig", "size", "group", "role", "rpm")  # shown where any record has one


def rms(rec: Record) -> float:
    """The record's RMS as read (before resampling, noise and normalisation), else of its signal."""
    if rec.rms_in is not None:
        return rec.rms_in
    return float(np.sqrt(np.mean(np.square(rec.signal, dtype=np.float64))))


_REMEDY = {"zscore": "data.normalize=zscore scales every window to unit RMS, so the gain never reaches the model",
           "minmax": "data.normalize=minmax scales every window to [-1, 1], so the gain never reaches the model",
           "none": "data.normalize=none passes the gain to the model: use zscore"}


def gain_warnings(records: Sequence[Record], normalize: str = "zscore") -> list[str]:
    """One WARNING line per rig (or for all records, where they name no rig) on which the RMS of one
    class is more than GAIN_RATIO times another's; a class's RMS pools its records' samples."""
    lines = []
    for rig in dict.fromkeys(r.rig for r in records):
        power: dict[str, list[float]] = {}
        for r in (r for r in records if r.rig == rig):
            power.setdefault(r.label, []).append(rms(r) ** 2)
        level = {lb: float(np.sqrt(np.mean(p))) for lb, p in power.items()}
        lo, hi = min(level, key=level.get), max(level, key=level.get)
        if level[lo] > 0 and level[hi] / level[lo] > GAIN_RATIO or level[lo] == 0 < level[hi]:
            ratio = level[hi] / level[lo] if level[lo] > 0 else float("inf")
            lines.append(f"WARNING: {f'on rig {rig}, ' if rig else ''}class {hi} has {ratio:.0f}x the RMS of class "
                         f"{lo} ({level[hi]:.3g} against {level[lo]:.3g}): a model that saw raw amplitude could "
                         f"tell them apart by gain alone; {_REMEDY.get(normalize, f'data.normalize={normalize}')}")
    return lines


def _records_table(records: Sequence[Record], root: object, channel: str) -> str:
    recs = pd.DataFrame([r.summary() for r in records])
    if root:
        base = Path(str(root)).expanduser()
        recs["file"] = [str(Path(f).relative_to(base)) if Path(f).is_relative_to(base) else f for f in recs["file"]]
    recs["fs in -> out"] = recs["fs_in"].astype(str) + " -> " + recs["fs"].astype(str)
    recs["rms"] = [f"{rms(r):.3g}" for r in records]
    shown = [c for c in _DOMAINS if recs[c].notna().any()]
    for c in shown:
        recs[c] = [None if v is None or v != v else show(v) for v in recs[c]]
    if (recs["channel"] != channel).any():  # the variable read from each file (data=hit, manifest keys)
        shown.append("channel")
    return recs[["file", "label", *shown, "fs in -> out", "samples", "rms"]].to_string(index=False, na_rep="-")


def describe(cfg: DictConfig) -> str:
    """What the data config selects and how the noise comes out, as text."""
    ws = build_windows(cfg.data)
    counts = pd.DataFrame(ws.counts())
    counts.loc["total"] = counts.sum()
    snr = cfg.noise.snr if cfg.noise.kind != "none" else 0
    x = torch.from_numpy(ws.splits["test"].x[:512]).unsqueeze(1)
    same_channel = all(r.channel == cfg.data.channel for r in ws.records)
    lines = [f"data: {cfg.data.name} ({cfg.data.source}){f', channel {cfg.data.channel}' if same_channel else ''}, "
             f"window {ws.window} at {ws.fs} Hz, split {list(cfg.data.split)}: {ws.protocol}",
             "", "records (rms: of the signal as read, before resampling, noise and normalisation)",
             _records_table(ws.records, cfg.data.get("root"), cfg.data.channel), *gain_warnings(ws.records, cfg.data.normalize),
             "", "windows per class and split", counts.to_string(),
             "", f"realised SNR of {len(x)} test windows at noise.snr={snr} dB"]
    for kind in list_noise_kinds():
        r = realised_snr_db(x, add_noise(x, float(snr), kind, generator(derived_seed(cfg.seed, "info", kind, snr))))
        lines.append(f"  {kind:<10} mean {r.mean():+.4f} dB  min {r.min():+.4f}  max {r.max():+.4f}")
    return "\n".join(lines)
