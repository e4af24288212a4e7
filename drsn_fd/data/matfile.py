"""Read CWRU-style `.mat` files: the channel by its key suffix, never by the file number."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import scipy.io

from drsn_fd.errors import DataError

CHANNELS = ("DE", "FE", "BA")
_KEY = re.compile(r"^X(\d+)_(DE|FE|BA)_time$")
_RPM = re.compile(r"^X(\d+)RPM$")


def file_number(path: str | Path) -> int | None:
    """The CWRU file number in a file name: `105.mat`, `12k_Drive_End_IR007_0_105.mat`."""
    m = re.search(r"(\d+)$", Path(path).stem)
    return int(m.group(1)) if m else None


def load_mat(path: str | Path) -> dict:
    """scipy.io.loadmat with one clear error for a corrupt or truncated file."""
    try:
        return scipy.io.loadmat(str(path))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except PermissionError as e:
        raise DataError(f"{path}: file cannot be read ({e.strerror})") from None
    except (scipy.io.matlab.MatReadError, ValueError, TypeError, OSError, EOFError, zlib.error,
            IndexError, NotImplementedError, KeyError, AssertionError) as e:
        raise DataError(f"{path}: corrupt or truncated .mat file ({type(e).__name__}: {e})") from None


def read_channel(path: str | Path, channel: str = "DE", number: int | None = None) -> tuple[np.ndarray, float | None]:
    """Return (signal, measured rpm or None) of `channel` in a CWRU-style `.mat` file.

    The key is found by its suffix `_<channel>_time`. Where a file holds several (file 99
    also carries a copy of 98's channels), the one whose number matches the file wins.
    """
    if channel not in CHANNELS:
        raise DataError(f"unknown channel {channel!r}; allowed: {', '.join(CHANNELS)}")
    mat = load_mat(path)
    keys = sorted(k for k in mat if (m := _KEY.match(k)) and m.group(2) == channel)
    if not keys:
        have = sorted(k for k in mat if not k.startswith("__"))
        raise DataError(f"{path}: no {channel} channel (no key ending in _{channel}_time); "
                        f"keys present: {', '.join(have) or 'none'}")
    if number is None:
        number = file_number(path)
    matching = [k for k in keys if int(_KEY.match(k).group(1)) == number]
    key = matching[0] if matching else keys[0]
    try:
        x = np.asarray(mat[key], dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise DataError(f"{path}: channel {key} is not numeric") from None
    if x.size == 0:
        raise DataError(f"{path}: channel {key} is empty")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: channel {key} holds NaN or infinite values")
    rpm = None
    rpm_keys = sorted(k for k in mat if _RPM.match(k))
    if rpm_keys:
        rk = next((k for k in rpm_keys if int(_RPM.match(k).group(1)) == number), rpm_keys[0])
        try:
            rpm = float(np.asarray(mat[rk]).ravel()[0])
        except (IndexError, TypeError, ValueError):
            rpm = None
    return x, rpm


def write_cwru_mat(path: str | Path, number: int, channels: dict[str, np.ndarray], rpm: float) -> None:
    """Write a `.mat` laid out like a CWRU file: XNNN_DE_time (n, 1) float64 and XNNNRPM."""
    data = {f"X{number:03d}_{ch}_time": np.asarray(x, np.float64).reshape(-1, 1)
            for ch, x in channels.items()}
    data[f"X{number:03d}RPM"] = np.array([[rpm]])
    scipy.io.savemat(str(path), data)
