"""A record: one 1-D vibration signal of one condition, with its metadata."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Record:
    """One signal at its final rate `fs`, and where it came from."""

    signal: np.ndarray
    label: str
    file: str
    fs: int
    fs_in: int
    channel: str
    load: int | None = None
    rpm: float | None = None
    number: int | None = None
    group: str | None = None  # a manifest's group (bearing, run); None for catalog records

    def summary(self) -> dict:
        return {
            "file": self.file, "label": self.label, "number": self.number, "load": self.load,
            "rpm": self.rpm, "fs_in": self.fs_in, "fs": self.fs, "channel": self.channel,
            "group": self.group, "samples": int(len(self.signal)),
        }
