"""Read `.mat` files: CWRU channels by their key suffix, any other layout by a key.

A key is a dotted path into the file's variables and MATLAB structs: `bearing.gs` is field
`gs` of struct `bearing` (MFPT files). `Y[Name=vibration_1].Data` picks the one element of
struct array `Y` whose field `Name` equals `vibration_1` (text, or a number compared as a
number), then its field `Data`; selectors may appear at any step: `run7.Y[Name=speed].Data`.
A signal key must name a numeric 1-D array (n x 1 and 1 x n count as 1-D).
"""

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
_PART = re.compile(r"([A-Za-z]\w*)(?:\[([A-Za-z]\w*)=([^\]]*)\])?")


def file_number(path: str | Path) -> int | None:
    """The CWRU file number in a file name: `105.mat`, `12k_Drive_End_IR007_0_105.mat`."""
    m = re.search(r"(\d+)$", Path(path).stem)
    return int(m.group(1)) if m else None


def load_mat(path: str | Path, **options) -> dict:
    """scipy.io.loadmat (with `options`) with one clear error for a corrupt or truncated file."""
    try:
        return scipy.io.loadmat(str(path), **options)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except PermissionError as e:
        raise DataError(f"{path}: file cannot be read ({e.strerror})") from None
    except (scipy.io.matlab.MatReadError, ValueError, TypeError, OSError, EOFError, zlib.error,
            IndexError, NotImplementedError, KeyError, AssertionError) as e:
        if isinstance(e, NotImplementedError) and "7.3" in str(e):
            raise DataError(f"{path}: a MATLAB v7.3 (HDF5) file, which scipy cannot read; "
                            "save it again with save(..., '-v7')") from None
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


def load_structs(path: str | Path) -> dict:
    """The variables of a `.mat` file, structs as dicts and struct or cell arrays as lists."""
    return load_mat(path, simplify_cells=True)


def _parse(key: str) -> list[tuple[str, str | None, str | None]] | None:
    parts, pos = [], 0
    while (m := _PART.match(key, pos)) is not None:
        parts.append(m.groups())
        pos = m.end()
        if pos == len(key):
            return parts
        if key[pos] != ".":
            return None
        pos += 1
    return None


def _show(v: object) -> str:
    return v if isinstance(v, str) else str(v) if isinstance(v, (int, float)) else f"<{type(v).__name__}>"


def _elements(node: object) -> list[dict] | None:
    if isinstance(node, dict):
        return [node]
    if isinstance(node, list):
        out = [_elements(x) for x in node]
        return None if any(e is None for e in out) else [d for e in out for d in e]
    return None


def _matches(value: object, want: str) -> bool:
    if isinstance(value, str):
        return value.strip() == want.strip()
    try:
        return float(np.asarray(value).item()) == float(want)
    except (TypeError, ValueError):
        return False


def _error(path: str | Path, what: str, key: str, msg: str) -> DataError:
    return DataError(f"{path}: {what} {key!r} {msg}")


def _resolve(mat: dict, path: str | Path, key: str, what: str) -> object:
    """The value that `key` names in the variables `mat` of the file `path`."""
    parts = _parse(key)
    if parts is None:
        raise _error(path, what, key, "is not a key; write a.b.c, with Y[Field=value] to pick an element "
                                      "of struct array Y")
    node: object = {k: v for k, v in mat.items() if not k.startswith("__")}
    where = ""
    for name, field, want in parts:
        if isinstance(node, list):
            raise _error(path, what, key, f"names nothing: {where} is a struct array of {len(node)} elements; "
                                          f"pick one with {where}[Field=value].{name}")
        if not isinstance(node, dict):
            raise _error(path, what, key, f"names nothing: {where} is not a struct, so it has no field {name!r}")
        if name not in node:
            place = f"field {name!r} in {where}" if where else f"variable {name!r} in the file"
            raise _error(path, what, key, f"names nothing: no {place}; there: {', '.join(node) or 'nothing'}")
        node, where = node[name], f"{where}.{name}" if where else name
        if field is None:
            continue
        elements = _elements(node)
        if elements is None:
            raise _error(path, what, key, f"names nothing: {where} is not a struct array, "
                                          f"so [{field}={want}] picks nothing")
        hits = [e for e in elements if field in e and _matches(e[field], want)]
        if not hits:
            seen = ", ".join(_show(e.get(field)) for e in elements)
            raise _error(path, what, key, f"names nothing: no element of {where} has {field}={want} "
                                          f"({field} values: {seen})")
        if len(hits) > 1:
            raise _error(path, what, key, f"is ambiguous: {len(hits)} elements of {where} have {field}={want}")
        node, where = hits[0], f"{where}[{field}={want}]"
    return node


def _numbers(node: object, path: str | Path, key: str, what: str) -> np.ndarray:
    if isinstance(node, dict):
        raise _error(path, what, key, f"names a struct (fields: {', '.join(node)}), not an array")
    if isinstance(node, list):
        raise _error(path, what, key, f"names a struct array of {len(node)} elements, not a numeric array; "
                                      "pick one with [Field=value]")
    x = np.asarray(node)
    if x.dtype.kind not in "iuf":
        kind = "text" if isinstance(node, str) else "a cell array" if x.dtype == object else f"{x.dtype} values"
        raise _error(path, what, key, f"holds {kind}, not numbers")
    return np.squeeze(x).astype(np.float64)


def read_key(path: str | Path, key: str, mat: dict | None = None) -> np.ndarray:
    """The 1-D signal that `key` names in a `.mat` file (the syntax: this module's docstring).

    `mat`: the file as `load_structs` read it, to read several keys with one load.
    """
    mat = load_structs(path) if mat is None else mat
    x = _numbers(_resolve(mat, path, key, "key"), path, key, "key")
    if x.size == 0:
        raise _error(path, "key", key, "holds an empty array")
    if x.ndim != 1:
        shape = "a single number" if x.ndim == 0 else f"a {' x '.join(map(str, x.shape))} array"
        raise _error(path, "key", key, f"holds {shape}, not a 1-D signal (n x 1 or 1 x n)")
    if not np.all(np.isfinite(x)):
        raise _error(path, "key", key, "holds NaN or infinite values")
    return x


def read_rate(path: str | Path, key: str, mat: dict | None = None) -> int:
    """The sampling rate (Hz, rounded to a whole number) that `key` names in a `.mat` file."""
    mat = load_structs(path) if mat is None else mat
    x = _numbers(_resolve(mat, path, key, "fs_key"), path, key, "fs_key")
    if x.size != 1 or not np.isfinite(x).all() or x.item() < 1:
        raise _error(path, "fs_key", key, "does not hold one positive sampling rate in Hz")
    return int(round(x.item()))


def _kind(value: object) -> str:
    x = np.asarray(value)
    if x.dtype.kind in "iuf":
        return f"numeric {' x '.join(map(str, x.shape))}"
    return "text" if x.dtype.kind == "U" else "a struct" if x.dtype.names else "a cell array" if x.dtype == object \
        else f"{x.dtype}"


def read_single_array(path: str | Path) -> tuple[str, np.ndarray]:
    """(name, 1-D signal) of the one numeric array a `.mat` file holds, whatever its name.

    The single-array rule (HIT-SM files name their variable differently in each file): a file with
    no numeric variable, or with more than one, is refused naming the file and what it holds.
    """
    mat = load_mat(path)
    variables = {k: v for k, v in mat.items() if not k.startswith("__")}
    numeric = [k for k, v in variables.items() if isinstance(v, np.ndarray) and v.dtype.kind in "iuf"]
    if len(numeric) != 1:
        held = ", ".join(f"{k} ({_kind(v)})" for k, v in variables.items()) or "no variables"
        count = "no numeric array" if not numeric else f"{len(numeric)} numeric arrays"
        raise DataError(f"{path}: holds {count}, so the one signal it holds cannot be told; variables: {held}")
    name = numeric[0]
    x = np.squeeze(np.asarray(variables[name], dtype=np.float64))
    if x.ndim != 1 or x.size < 2:
        raise DataError(f"{path}: variable {name} is a {' x '.join(map(str, variables[name].shape))} array, "
                        "not a 1-D signal (n x 1 or 1 x n)")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: variable {name} holds NaN or infinite values")
    return name, x
