"""What a noise setting may be, without torch: the kinds, their parameters, a valid SNR.

The home of these facts; `data/noise.py` draws the noise, `validate.py` checks a config with
them before torch is imported, and `data/normalize.py` names its normalisations here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

KINDS = ("gaussian", "laplacian", "pink", "impulsive", "student_t", "none")
NOISE_DEFAULTS = {"impulse_rate": 0.01, "impulse_ratio": 100.0, "dof": 3.0}
NORMALIZATIONS = ("zscore", "minmax", "none")  # per window, after the noise (data/normalize.py)


def check_noise_params(params: Mapping) -> None:
    """ValueError naming the key if impulse_rate, impulse_ratio or dof (where present) is out of range."""
    rules = {"impulse_rate": (lambda v: 0 < v < 1, "a number in the open interval (0, 1): impulses per sample"),
             "impulse_ratio": (lambda v: v > 0, "a finite number > 0: impulse variance / background variance"),
             "dof": (lambda v: v > 2, "a finite number > 2: Student-t degrees of freedom")}
    for key, (ok, allowed) in rules.items():
        if key not in params:
            continue
        v = params[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not ok(v):
            raise ValueError(f"noise.{key}={v!r} is not allowed; it must be {allowed}")


def check_snr(value: object, key: str) -> float:
    """A finite SNR in dB, or a ValueError naming the key."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key}={value!r} is not a number (SNR in dB)")
    if not math.isfinite(float(value)):
        raise ValueError(f"{key}={value!r} must be a finite SNR in dB")
    return float(value)
