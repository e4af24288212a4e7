"""data=manifest: a user's CSV naming their own signal files (.mat, .npy, .csv) in any layout."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from drsn_fd.data.catalog import class_map
from drsn_fd.data.matfile import file_number, load_structs, read_rate
from drsn_fd.data.records import Record
from drsn_fd.data.signal_files import read_csv, read_mat, read_npy, refuse_options
from drsn_fd.data.sources.files import selected_loads, to_record
from drsn_fd.data.sources.registry import register_source
from drsn_fd.errors import ConfigError, DataError

_COLUMNS = "file,label[,fs,load,key,fs_key,group,column]"


def _cell(row: pd.Series, col: str) -> str | None:
    v = row.get(col)
    return None if v is None or pd.isna(v) or not str(v).strip() else str(v).strip()


def _number(row: pd.Series, col: str, where: str) -> float | None:
    v = _cell(row, col)
    try:
        return None if v is None else float(v)
    except ValueError:
        raise DataError(f"{where}: {col} {v!r} is not a number") from None


def _rate(row: pd.Series, path: Path, where: str) -> tuple[float | None, str | None]:
    """(fs, fs_key) of a row: at least one of them, fs a positive number, fs_key only for a .mat."""
    fs, fs_key = _number(row, "fs", where), _cell(row, "fs_key")
    if fs is None and fs_key is None:
        raise DataError(f"{where} has no fs; add an fs column (or an fs_key column: the rate's key in the file) "
                        "so every record is used at the rate it was taken at")
    if fs is not None and not fs > 0:
        raise DataError(f"{where}: fs {fs:g} must be a positive rate in Hz")
    if fs is None and path.suffix.lower() != ".mat":
        raise DataError(f"{where}: fs_key {fs_key!r} reads the rate inside a .mat file; give this "
                        f"{path.suffix} file an fs")
    return fs, fs_key


def _signal(row: pd.Series, path: Path, cfg: Mapping, where: str):
    """(signal, rpm, what was read, rate in Hz) of one row's file."""
    key, column = _cell(row, "key"), _cell(row, "column")
    refuse_options(path, key, column, where)
    fs, fs_key = _rate(row, path, where)
    if not path.is_file():
        raise DataError(f"{where}: file {path} not found")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        mat = load_structs(path) if key or fs_key else None
        x, rpm, channel = read_mat(path, cfg["channel"], key, mat)
        return x, rpm, channel, int(fs) if fs is not None else read_rate(path, fs_key, mat)
    if suffix == ".npy":
        return read_npy(path), None, "array", int(fs)
    x = read_csv(path, column)
    if x is None:
        raise DataError(f"{where}: this CSV has several columns; name the signal's in the manifest's "
                        "column column (a header name or a 0-based index)")
    return x, None, f"column {column or 0}", int(fs)


def _manifest_record(row: pd.Series, path: Path, label: str, cfg: Mapping, where: str) -> Record:
    """One row's record, under its class `label` (its state: the row's own label)."""
    x, rpm, channel, fs_in = _signal(row, path, cfg, where)
    load = _number(row, "load", where)
    return to_record(x, path, label, fs_in, cfg, channel, load=None if load is None else int(load), rpm=rpm,
                      number=file_number(path), group=_cell(row, "group"), state=_cell(row, "label"))


def _asked(cls: str, members: list[str]) -> str:
    return cls if members == [cls] else f"{cls} (label{'s' if len(members) > 1 else ''} {', '.join(members)})"


def class_of(classes: object, labels: list[str], where: str) -> dict[str, str]:
    """Manifest label -> class, in class order, for the labels the manifest rows carry.

    data.classes=null keeps every label as its own class, in first-seen order; a class-set
    name or a mapping class -> [manifest labels] selects those rows and relabels them. A class
    with no row is refused by name.
    """
    if classes is None:
        return {lb: lb for lb in labels}
    cmap = class_map(classes)
    out: dict[str, str] = {}
    for cls, members in cmap.items():
        for m in members:
            if out.setdefault(m, cls) != cls:
                raise ConfigError(f"data.classes: manifest label {m!r} is in two classes, {out[m]} and {cls}")
    have = set(labels)
    missing = [_asked(cls, members) for cls, members in cmap.items() if not have & set(members)]
    if missing:
        raise DataError(f"data.classes: {where} has no row for class(es) {'; '.join(missing)}; "
                        f"labels there: {', '.join(labels) or 'none'}")
    return out


def manifest_records(cfg: Mapping, manifest: Path) -> list[Record]:
    """Records described by a user's manifest CSV with columns file,label[,fs,load,key,fs_key,group,column].

    `key` names the signal inside a .mat (syntax: `drsn_fd.data.matfile`); without it the CWRU
    channel rule (data.channel) applies, else the file's one numeric array. `fs_key` names the
    rate inside a .mat where `fs` is empty. `column` names a .csv's signal column (header or
    0-based index). `group` (a bearing, a run) is what data.test_groups picks. data.classes
    selects and relabels rows (null: every label as it is).
    """
    if not manifest.is_file():
        raise DataError(f"data.manifest={manifest}: file not found")
    try:
        df = pd.read_csv(manifest, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"data.manifest={manifest}: not a readable CSV ({e})") from None
    df.columns = [str(c).strip() for c in df.columns]
    for col in ("file", "label"):
        if col not in df.columns:
            raise DataError(f"data.manifest={manifest}: no '{col}' column (need {_COLUMNS})")
    loads = selected_loads(cfg)
    rows = []
    for i, row in df.iterrows():
        where = f"data.manifest={manifest}: row {i + 2} ({Path(str(row['file'])).name})"
        if _cell(row, "file") is None:
            raise DataError(f"data.manifest={manifest}: row {i + 2} has no file")
        if _cell(row, "label") is None:
            raise DataError(f"{where} has no label")
        load = _number(row, "load", where)
        if loads is None or load is None or int(load) in loads:
            rows.append((row, where))
    place = f"data.manifest={manifest}" + (f" with loads={sorted(loads)}" if loads is not None else "")
    if not rows:
        raise DataError(f"{place}: no row left after selecting the loads")
    labels = list(dict.fromkeys(_cell(row, "label") for row, _ in rows))
    relabel = class_of(cfg.get("classes"), labels, place)
    order = {cls: i for i, cls in enumerate(dict.fromkeys(relabel.values()))}
    chosen = [(row, where, relabel[lb]) for row, where in rows if (lb := _cell(row, "label")) in relabel]
    if cfg.get("classes") is not None:  # the class set's order; rows of a class keep the manifest's
        chosen.sort(key=lambda c: order[c[2]])
    records = []
    for row, where, cls in chosen:
        path = Path(_cell(row, "file")).expanduser()
        records.append(_manifest_record(row, path if path.is_absolute() else manifest.parent / path, cls, cfg, where))
    return records


def misplaced_manifest(error: Exception) -> str | None:
    """One line for data.manifest given to a data config that has no such key (Hydra's spans lines)."""
    if str(error).startswith("Could not override 'data.manifest'") and "To append" in str(error):
        return "data.manifest is no key of this data config: your own files are data=manifest data.manifest=FILE"
    return None


@register_source("manifest", reads="manifest")
def manifest_source(cfg: Mapping) -> list[Record]:
    """The records of data.manifest."""
    if not cfg.get("manifest"):
        raise ConfigError("data.manifest is not set: give a CSV with columns " + _COLUMNS)
    return manifest_records(cfg, Path(str(cfg["manifest"])).expanduser())
