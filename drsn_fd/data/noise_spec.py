"""What an SNR and a normalisation may be, without torch.

The noise kinds and their parameters live in the noise registry (`data/noise/registry.py`);
`validate.py` checks a config with both before torch is imported, and `data/normalize.py`
names its normalisations here.
"""

from __future__ import annotations

import math

NORMALIZATIONS = ("zscore", "minmax", "none")  # per window, after the noise (data/normalize.py)


def check_snr(value: object, key: str) -> float:
    """A finite SNR in dB, or a ValueError naming the key."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key}={value!r} is not a number (SNR in dB)")
    if not math.isfinite(float(value)):
        raise ValueError(f"{key}={value!r} must be a finite SNR in dB")
    return float(value)
