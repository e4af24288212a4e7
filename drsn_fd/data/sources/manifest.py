"""data=manifest: a user's CSV naming their own files in any layout."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from drsn_fd.data.matfile import file_number, load_structs, read_channel, read_key, read_rate
from drsn_fd.data.records import Record
from drsn_fd.data.sources.files import selected_loads, to_record
from drsn_fd.data.sources.registry import register_source
from drsn_fd.errors import ConfigError, DataError

_COLUMNS = "file,label[,fs,load,key,fs_key,group]"


def _cell(row: pd.Series, col: str) -> str | None:
    v = row.get(col)
    return None if v is None or pd.isna(v) or not str(v).strip() else str(v).strip()


def _number(row: pd.Series, col: str, where: str) -> float | None:
    v = _cell(row, col)
    try:
        return None if v is None else float(v)
    except ValueError:
        raise DataError(f"{where}: {col} {v!r} is not a number") from None


def _manifest_record(row: pd.Series, path: Path, cfg: Mapping, where: str) -> Record:
    """One row's record: the signal at `key` (else the CWRU channel), taken at `fs` (else at `fs_key`)."""
    label, key, fs_key, fs = _cell(row, "label"), _cell(row, "key"), _cell(row, "fs_key"), _number(row, "fs", where)
    if label is None:
        raise DataError(f"{where} has no label")
    if fs is None and fs_key is None:
        raise DataError(f"{where} has no fs; add an fs column (or an fs_key column: the rate's key in the file) "
                        "so every record is used at the rate it was taken at")
    load = _number(row, "load", where)
    mat = load_structs(path) if key or fs_key else None
    if key:
        x, rpm, channel = read_key(path, key, mat), None, key
    else:
        (x, rpm), channel = read_channel(path, cfg["channel"], file_number(path)), cfg["channel"]
    fs_in = int(fs) if fs is not None else read_rate(path, fs_key, mat)
    return to_record(x, path, label, fs_in, cfg, channel, load=None if load is None else int(load), rpm=rpm,
                      number=file_number(path), group=_cell(row, "group"))


def manifest_records(cfg: Mapping, manifest: Path) -> list[Record]:
    """Records described by a user's manifest CSV with columns file,label[,fs,load,key,fs_key,group].

    `key` names the signal inside the file (syntax: `drsn_fd.data.matfile`); without it the CWRU
    channel rule (data.channel) applies. `fs_key` names the rate inside the file where `fs` is empty.
    `group` (a bearing, a run) is what data.test_groups picks.
    """
    if not manifest.is_file():
        raise DataError(f"data.manifest={manifest}: file not found")
    try:
        df = pd.read_csv(manifest, dtype={c: str for c in ("file", "label", "key", "fs_key", "group")})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"data.manifest={manifest}: not a readable CSV ({e})") from None
    for col in ("file", "label"):
        if col not in df.columns:
            raise DataError(f"data.manifest={manifest}: no '{col}' column (need {_COLUMNS})")
    loads = selected_loads(cfg)
    records = []
    for i, row in df.iterrows():
        path = Path(str(row["file"]))
        path = path if path.is_absolute() else manifest.parent / path
        where = f"data.manifest={manifest}: row {i + 2} ({path.name})"
        load = _number(row, "load", where)
        if loads is not None and load is not None and int(load) not in loads:
            continue
        records.append(_manifest_record(row, path, cfg, where))
    if not records:
        raise DataError(f"data.manifest={manifest}: no row left after selecting loads={sorted(loads or [])}")
    return records




@register_source("manifest")
def manifest_source(cfg: Mapping) -> list[Record]:
    """The records of data.manifest."""
    if not cfg.get("manifest"):
        raise ConfigError("data.manifest is not set: give a CSV with columns " + _COLUMNS)
    return manifest_records(cfg, Path(str(cfg["manifest"])).expanduser())
