"""A record: one 1-D vibration signal of one condition, with its metadata and domain attributes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Record:
    """One signal at its final rate `fs`, where it came from, and the domains it belongs to.

    The domain attributes are what the shift protocols pick records by (`drsn_fd.data.domains`);
    a source fills those it knows and leaves the others None.
    """

    signal: np.ndarray
    label: str
    file: str
    fs: int
    fs_in: int
    channel: str
    load: int | None = None  # motor load in hp (CWRU)
    rpm: float | None = None  # speed measured in the file, where it holds one (CWRU)
    number: int | None = None  # CWRU file number
    group: str | None = None  # a manifest's group (bearing, run); None for catalog records
    speed: float | None = None  # nominal shaft speed in rpm
    rig: str | None = None  # the test rig (HIT-SM: selfbuilt | mfs)
    size: float | None = None  # fault size: CWRU diameter in inches, HIT-SM arc in degrees; None for normal
    location: str | None = None  # where the fault is: normal, inner_race, ball, outer_race (CWRU); normal, inner, outer (HIT-SM)
    state: str | None = None  # the condition as the data set names it: IR007, OR021@6 (CWRU), IR2 (HIT-SM)
    role: str | None = None  # its part in the split, set by build_windows (data.domains.record_roles)
    rms_in: float | None = None  # RMS of the signal as read (at fs_in, before resampling, noise and normalisation)
    published_sha256: str | None = None  # the sha256 of the published file, where the source's catalog knows it

    def summary(self) -> dict:
        return {
            "file": self.file, "label": self.label, "state": self.state, "number": self.number,
            "load": self.load, "speed": self.speed, "rig": self.rig, "size": self.size,
            "location": self.location, "group": self.group, "role": self.role, "rpm": self.rpm,
            "fs_in": self.fs_in, "fs": self.fs, "channel": self.channel, "samples": int(len(self.signal)),
            "rms_in": self.rms_in,
        }
