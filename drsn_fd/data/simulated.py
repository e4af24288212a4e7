"""The embedded default data set: simulated CWRU-style bearing vibration.

A 6205 deep-groove bearing (the CWRU drive-end bearing) under four loads. A localised
fault makes an impulse at each ball pass, at the characteristic frequency of the fault
(BPFO, BPFI or 2 x BSF times the shaft rate) with 1-2 % slip jitter. Each impulse rings
a damped structural resonance; inner-race impulses are modulated by the shaft, ball
impulses by the cage, as the fault moves through the load zone. Shaft harmonics and
broadband sensor noise are always there, and severity grows with the fault diameter.
The records are written as CWRU-style `.mat` files under their CWRU file numbers, so
the CWRU loader and catalog read them unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from drsn_fd.data.catalog import CATALOG, CLASS_SETS, CatalogEntry
from drsn_fd.data.matfile import write_cwru_mat
from drsn_fd.io import write_text

log = logging.getLogger(__name__)

VERSION = 1
# Characteristic frequencies of the 6205-2RS bearing, in multiples of the shaft rate.
BPFO, BPFI, BSF, FTF = 3.585, 5.415, 2.357, 0.398
# Resonance (Hz) and damping ratio excited by each fault location.
RESONANCE = {"outer_race": (3000.0, 0.06), "inner_race": (3400.0, 0.08), "ball": (2600.0, 0.10)}
SEVERITY = {0.007: 0.35, 0.014: 0.6, 0.021: 0.9, 0.028: 1.2}


def default_cache_dir() -> Path:
    """Where the simulated set is cached: $DRSN_CACHE, else the user's cache folder."""
    base = os.environ.get("DRSN_CACHE") or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "drsn_fd" / "simulated"


def simulate_signal(entry: CatalogEntry, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """One drive-end acceleration record (in g) of the condition `entry` at `entry.fs_hz`."""
    fs = entry.fs_hz
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    fr = entry.rpm / 60.0 * (1 + rng.normal(0, 0.002))
    x = np.zeros(n)
    for h in range(1, 6):  # shaft harmonics, stronger under load
        x += (0.02 + 0.004 * entry.load_hp) / h * np.sin(2 * np.pi * h * fr * t + rng.uniform(0, 2 * np.pi))
    x += rng.normal(0, 0.03, n)  # broadband sensor and machine noise
    if entry.fault == "normal":
        return x
    f_fault = {"outer_race": BPFO, "inner_race": BPFI, "ball": 2 * BSF}[entry.fault] * fr
    jitter = rng.uniform(0.01, 0.02)
    periods = (1 + jitter * rng.standard_normal(int(seconds * f_fault) + 8)) / f_fault
    times = rng.uniform(0, 1 / f_fault) + np.cumsum(periods)
    times = times[times < (n - 1) / fs]
    amp = SEVERITY[entry.diameter_in] * (1 + 0.1 * entry.load_hp) * (1 + 0.15 * rng.standard_normal(times.size))
    if entry.fault == "inner_race":  # the fault turns with the shaft through the load zone
        amp *= 1 + 0.8 * np.cos(2 * np.pi * fr * times)
    elif entry.fault == "ball":  # the ball turns with the cage, and rolls in and out of contact
        amp *= (1 + 0.8 * np.cos(2 * np.pi * FTF * fr * times)) * (rng.uniform(size=times.size) < 0.7)
    impulses = np.zeros(n)
    np.add.at(impulses, np.round(times * fs).astype(int), amp)
    fn, zeta = RESONANCE[entry.fault]
    fn *= 1 + 0.03 * (entry.diameter_in / 0.007 - 1)  # a larger defect shifts the contact stiffness
    tk = np.arange(int(6 / (2 * np.pi * zeta * fn) * fs)) / fs
    ring = np.exp(-2 * np.pi * zeta * fn * tk) * np.sin(2 * np.pi * fn * np.sqrt(1 - zeta**2) * tk)
    return x + fftconvolve(impulses, ring)[:n]


def simulated_entries(loads: list[int] | None = None) -> list[CatalogEntry]:
    """The catalog rows the simulated set covers: every class of the built-in class sets."""
    codes = {c for cs in CLASS_SETS.values() for codes in cs.values() for c in codes}
    return [e for e in CATALOG.values()
            if e.code in codes and e.sensor_end in ("DE", "none") and (e.fault == "normal" or e.fs_hz == 12000)
            and (loads is None or e.load_hp in loads)]


def simulate(folder: str | Path, seed: int = 0, seconds: float = 10.0) -> Path:
    """Write the simulated set into `folder` as CWRU-style `.mat` files; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for entry in simulated_entries():
        rng = np.random.default_rng([seed, entry.number])
        de = simulate_signal(entry, seconds, rng)
        fe = 0.4 * de + rng.normal(0, 0.03, de.size)  # fan end: far from the fault, attenuated
        write_cwru_mat(folder / f"{entry.number}.mat", entry.number, {"DE": de, "FE": fe},
                       entry.rpm + rng.normal(0, 2))
    write_text(folder / "COMPLETE", json.dumps({"version": VERSION, "seed": seed, "seconds": seconds}))
    return folder


def ensure_simulated(cache_dir: str | Path | None, seed: int, seconds: float) -> Path:
    """The folder of the simulated set for (seed, seconds), generated on first use."""
    key = hashlib.sha256(json.dumps([VERSION, seed, seconds]).encode()).hexdigest()[:12]
    folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    folder = folder / f"v{VERSION}-seed{seed}-{key}"
    if not (folder / "COMPLETE").exists():
        log.info("generating the simulated data set in %s", folder)
        simulate(folder, seed, seconds)
    return folder
