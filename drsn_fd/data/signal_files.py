"""Read one 1-D signal from a file of any layout a user brings: `.mat`, `.npy` or `.csv`.

A `.mat` gives the signal that `key` names (syntax: `drsn_fd.data.matfile`); without a key,
a CWRU-style file gives its channel (data.channel) and any other file its one numeric array.
A `.npy` holds the signal itself. A `.csv` gives one column: the only one, or the one that
`column` names by its header or by its 0-based index. The manifest source and drsn-predict
read files through here, so both take the same layouts.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from drsn_fd.data.matfile import load_mat, read_channel, read_key, read_single_array
from drsn_fd.errors import DataError

SUFFIXES = (".mat", ".npy", ".csv")
_CWRU_KEY = re.compile(r"^X\d+_(?:DE|FE|BA)_time$")


def numeric(x: np.ndarray, path: str | Path) -> np.ndarray:
    """`x` as float64, refused unless it is a non-empty array of finite numbers."""
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: holds {x.dtype} values, not a numeric signal")
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        raise DataError(f"{path}: holds no samples")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: holds NaN or infinite values")
    return x


def read_npy(path: str | Path) -> np.ndarray:
    """The 1-D signal of a `.npy` file (shape (n,), (n, 1) or (1, n))."""
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npy array ({type(e).__name__}: {e})") from None
    if not isinstance(x, np.ndarray) or x.squeeze().ndim != 1:
        raise DataError(f"{path}: holds an array of shape {getattr(x, 'shape', '?')}; expected one signal (1-D)")
    return numeric(x.squeeze(), path)


def _column_index(df: pd.DataFrame, column: str | int, path: str | Path) -> int:
    """The 0-based position of `column`: a whole number is an index, anything else a header name."""
    text = str(column).strip()
    if text.isdigit():
        if int(text) >= df.shape[1]:
            raise DataError(f"{path}: column {text} is out of range; the file has {df.shape[1]} column(s), "
                            f"0 to {df.shape[1] - 1}")
        return int(text)
    header = df.iloc[0].fillna("").str.strip().tolist() if len(df) else []
    if text in header:
        return header.index(text)
    if not any(pd.isna(pd.to_numeric(pd.Series(header), errors="coerce"))):
        raise DataError(f"{path}: no column {text!r}: the file has no header line; give column as a 0-based index")
    raise DataError(f"{path}: no column {text!r}; columns: {', '.join(header)}")


def read_csv(path: str | Path, column: str | int | None = None) -> np.ndarray | None:
    """The signal in one column of a `.csv` (an optional header line first).

    `column`: a header name or a 0-based index; None takes the file's only column, and gives
    None when the file has more than one (the caller says what to do).
    """
    try:
        df = pd.read_csv(path, header=None, dtype=str, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise DataError(f"{path}: not a readable CSV ({type(e).__name__}: {e})") from None
    if column is None and df.shape[1] != 1:
        return None
    j = 0 if column is None else _column_index(df, column, path)
    text = df[j].str.strip()
    values = pd.to_numeric(text, errors="coerce")
    if len(values) and np.isnan(values.iloc[0]):  # a header line
        text, values = text.iloc[1:], values.iloc[1:]
    bad = np.flatnonzero(values.isna().to_numpy())
    if bad.size:
        cell = text.iloc[bad[0]]
        what = "an empty cell" if pd.isna(cell) or not cell else f"value {cell!r}"
        where = f" of column {column}" if column is not None else ""
        raise DataError(f"{path}: {what} (sample {int(bad[0])}{where}) is not a number")
    return numeric(values.to_numpy(), path)


def is_cwru_style(path: str | Path) -> bool:
    """Whether a `.mat` holds CWRU channel keys (X<number>_<DE|FE|BA>_time)."""
    return any(_CWRU_KEY.match(k) for k in load_mat(path))


def read_mat(path: str | Path, channel: str = "DE", key: str | None = None,
             mat: dict | None = None) -> tuple[np.ndarray, float | None, str]:
    """(signal, measured rpm or None, what was read: the key, channel or variable) of a `.mat` file.

    `key` names the signal; without it a CWRU-style file gives `channel` and any other file
    the one numeric array it holds (refused by name when it holds none or several).
    `mat`: the file as `load_structs` read it, for the key.
    """
    if key:
        return read_key(path, key, mat), None, key
    if is_cwru_style(path):
        x, rpm = read_channel(path, channel)
        return x, rpm, channel
    name, x = read_single_array(path)
    return x, None, name


def refuse_options(path: str | Path, key: str | None = None, column: object = None, where: str = "") -> None:
    """Refuse a `key` for anything but a `.mat`, and a `column` for anything but a `.csv`."""
    suffix = Path(path).suffix.lower()
    prefix = where or str(path)
    if suffix not in SUFFIXES:
        raise DataError(f"{prefix}: unsupported file type {suffix or '(none)'}; allowed: {', '.join(SUFFIXES)}")
    if key and suffix != ".mat":
        raise DataError(f"{prefix}: key {key!r} names a variable of a .mat file; a {suffix} file has none")
    if column is not None and suffix != ".csv":
        raise DataError(f"{prefix}: column {column!r} names a column of a .csv file; a {suffix} file has none")
