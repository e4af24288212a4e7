"""Bring a record to the common rate with an anti-aliasing polyphase filter."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly


def resample(x: np.ndarray, fs_in: int, fs_out: int) -> np.ndarray:
    """Polyphase resampling from `fs_in` to `fs_out` (scipy's Kaiser-window FIR)."""
    if fs_in == fs_out:
        return x
    r = Fraction(int(fs_out), int(fs_in))
    return resample_poly(x, r.numerator, r.denominator)
