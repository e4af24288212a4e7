"""Sources of records: real CWRU files (catalog or manifest) and the simulated set."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from drsn_fd.data.catalog import CATALOG, CatalogEntry, class_map, lookup
from drsn_fd.data.matfile import file_number, load_structs, read_channel, read_key, read_rate
from drsn_fd.data.records import Record
from drsn_fd.data.resample import resample
from drsn_fd.data.simulated import ensure_simulated
from drsn_fd.errors import ConfigError, DataError

log = logging.getLogger(__name__)


def _mat_files(root: Path) -> list[Path]:
    if not root.exists():
        raise DataError(f"data.root={root}: folder does not exist")
    if not root.is_dir():
        raise DataError(f"data.root={root}: not a folder")
    denied: list[OSError] = []
    for _ in os.walk(root, onerror=denied.append):  # rglob skips unreadable folders silently
        pass
    if denied:
        raise DataError(f"data.root={root}: folder {denied[0].filename} cannot be read ({denied[0].strerror})")
    files = sorted(root.rglob("*.mat"))
    if not files:
        raise DataError(f"data.root={root}: no .mat files in this folder")
    return files


def _to_record(x: np.ndarray, path: Path, label: str, fs_in: int, cfg: Mapping, channel: str, **meta) -> Record:
    """The record of signal `x`, taken at `fs_in`, resampled to data.fs."""
    fs = int(cfg["fs"])
    y = resample(x, int(fs_in), fs).astype("float32")
    return Record(y, label, str(path), fs, int(fs_in), channel, **meta)


def _loads(cfg: Mapping) -> set[int] | None:
    """The loads to read: data.loads and data.test_loads (None: every load)."""
    if cfg.get("loads") is None:
        return None
    return {int(v) for v in cfg["loads"]} | {int(v) for v in cfg.get("test_loads") or []}


def _chooser(cfg: Mapping) -> tuple[dict[str, list[str]], Callable[[CatalogEntry], str | None], str]:
    """(class map, catalog entry -> its label or None when the selection leaves it out, the filters in words)."""
    cmap = class_map(cfg["classes"])
    loads = _loads(cfg)
    fault_end = cfg.get("fault_end", "DE")
    source_fs = cfg.get("source_fs")
    wanted: dict[str, str] = {code: label for label, codes in cmap.items() for code in codes}

    def choose(entry: CatalogEntry) -> str | None:
        label = wanted.get(entry.code) or wanted.get(str(entry.number))
        if label is None or str(entry.number) in wanted:  # explicit file numbers bypass the filters
            return label
        if loads is not None and entry.load_hp not in loads:
            return None
        if entry.fault != "normal" and (entry.sensor_end != fault_end
                                        or (source_fs and entry.fs_hz != int(source_fs))):
            return None
        return label

    filters = (f"loads={sorted(loads) if loads is not None else 'any'}, "
               f"fault_end={fault_end}, source_fs={source_fs or 'null'}")
    return cmap, choose, filters


def _missing(cmap: Mapping[str, list[str]], found: set[str]) -> list[str]:
    return [lb for lb in cmap if lb not in found]


def catalog_selection(cfg: Mapping) -> list[tuple[CatalogEntry, str]]:
    """Every CWRU file of the catalog that the data config selects, as (entry, label) in class-set order.

    The same choice `catalog_records` makes from a folder, made from the catalog alone: what a
    complete CWRU folder would give (`drsn-data download` fetches these).
    """
    # Without a folder there is no rate to find: source_fs=null takes the standard 12 kHz faults.
    cmap, choose, filters = _chooser({**cfg, "source_fs": cfg.get("source_fs") or 12000})
    chosen = [(e, lb) for e in CATALOG.values() if (lb := choose(e)) is not None]
    missing = _missing(cmap, {lb for _, lb in chosen})
    if missing:
        raise DataError(f"data.classes: the CWRU catalog has no file for class(es) {', '.join(missing)} "
                        f"with {filters}")
    order = {lb: i for i, lb in enumerate(cmap)}
    return sorted(chosen, key=lambda c: (order[c[1]], c[0].number))


def _one_rate(chosen: list[tuple[Path, CatalogEntry, str]], cmap: Mapping[str, list[str]], root: Path) -> None:
    """Refuse a class whose fault files in the folder are at both 12 and 48 kHz (data.source_fs=null)."""
    explicit = {c for codes in cmap.values() for c in codes}
    rates: dict[str, dict[int, list[int]]] = {}
    for _, e, lb in chosen:
        if e.fault != "normal" and str(e.number) not in explicit:
            rates.setdefault(lb, {}).setdefault(e.fs_hz, []).append(e.number)
    both = [lb for lb, by_fs in rates.items() if len(by_fs) > 1]
    if both:
        per_fs: dict[int, list[int]] = {}
        for lb in both:
            for fs, nums in rates[lb].items():
                per_fs.setdefault(fs, []).extend(nums)
        listing = "; ".join(f"{fs // 1000} kHz: {', '.join(map(str, sorted(n)))}" for fs, n in sorted(per_fs.items()))
        raise DataError(f"data.root={root}: class(es) {', '.join(both)} are in this folder at both rates "
                        f"({listing}); choose one with data.source_fs=12000 or data.source_fs=48000")


def catalog_records(cfg: Mapping, root: Path) -> list[Record]:
    """Records of the CWRU files in `root`, identified by file number through the catalog.

    With data.source_fs=null each class is read at the one rate the folder holds it at.
    """
    cmap, choose, filters = _chooser(cfg)
    chosen: list[tuple[Path, CatalogEntry, str]] = []
    seen: set[int] = set()
    for path in _mat_files(root):
        num = file_number(path)
        entry = lookup(num) if num is not None else None
        if entry is None:
            log.debug("skipping %s: not a CWRU file number", path)
            continue
        label = choose(entry)
        if label is None or num in seen:
            continue
        seen.add(num)
        chosen.append((path, entry, label))
    missing = _missing(cmap, {c[2] for c in chosen})
    if missing:
        raise DataError(f"data.root={root}: no file for class(es) {', '.join(missing)} with {filters}")
    order = {lb: i for i, lb in enumerate(cmap)}
    chosen.sort(key=lambda c: (order[c[2]], c[1].number))
    if not cfg.get("source_fs"):
        _one_rate(chosen, cmap, root)
    records = []
    for p, e, lb in chosen:
        x, rpm = read_channel(p, cfg["channel"], e.number)
        records.append(_to_record(x, p, lb, e.fs_hz, cfg, cfg["channel"], load=e.load_hp,
                                  rpm=rpm or e.rpm, number=e.number))
    return records


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
    return _to_record(x, path, label, fs_in, cfg, channel, load=None if load is None else int(load), rpm=rpm,
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
    loads = _loads(cfg)
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


def _refuse_gaps(records: Sequence[Record], on_side: Callable[[Record], bool], setting: str, place: str,
                 where: str) -> None:
    have = {r.label for r in records if on_side(r)}
    missing = [c for c in labels_in_order(records) if c not in have]
    if missing:
        hint = "data.classes=faults or a mapping" if "normal" in missing else "a data.classes mapping"
        raise DataError(f"{setting}: no record of class(es) {', '.join(missing)} {place} in {where}; "
                        f"leave them out with {hint}")


def _at_loads(loads: Sequence[int]) -> str:
    return f"at load{'s' if len(loads) > 1 else ''} {', '.join(map(str, loads))} hp"


def check_domains(records: Sequence[Record], cfg: Mapping) -> None:
    """Refuse a cross-load or grouped split that leaves a class out of its training or its test side.

    Training: the records outside data.test_loads, and those of the groups in neither
    data.test_groups nor data.val_groups; test: those of data.test_loads and of data.test_groups.
    """
    where = str(cfg.get("manifest") or cfg.get("root") or "the simulated set")
    if cfg.get("test_loads") is not None:
        test = sorted({int(v) for v in cfg["test_loads"]})
        setting = f"data.test_loads={test}"
        if (bad := next((r for r in records if r.load is None), None)) is not None:
            raise DataError(f"{setting}: {bad.file} has no load; give every manifest row a load")
        loads = None if cfg.get("loads") is None else sorted({int(v) for v in cfg["loads"]})
        train = sorted(set(loads or []) - set(test))
        _refuse_gaps(records, lambda r: r.load not in test, f"data.loads={loads if loads is not None else 'null'}",
                     _at_loads(train) if train else "outside the test loads", where)
        _refuse_gaps(records, lambda r: r.load in test, setting, _at_loads(test), where)
    if cfg.get("test_groups") is not None:
        test_g = [str(g) for g in cfg["test_groups"]]
        setting = f"data.test_groups=[{', '.join(test_g)}]"
        if (bad := next((r for r in records if r.group is None), None)) is not None:
            raise DataError(f"{setting}: {bad.file} has no group; give the manifest (data.manifest) a group column")
        val_g = [str(g) for g in cfg.get("val_groups") or []]
        groups = list(dict.fromkeys(r.group for r in records))
        for name, named in (("test_groups", test_g), ("val_groups", val_g)):
            if unknown := [g for g in named if g not in groups]:
                raise DataError(f"data.{name}=[{', '.join(named)}]: no record of group(s) {', '.join(unknown)} "
                                f"in {where}; groups there: {', '.join(groups)}")
        _refuse_gaps(records, lambda r: r.group not in test_g + val_g, setting, "in the training groups", where)
        _refuse_gaps(records, lambda r: r.group in test_g, setting, "in the test groups", where)


def load_records(cfg: Mapping) -> list[Record]:
    """The records the data config asks for (of data.loads and data.test_loads), each resampled to data.fs."""
    source = cfg["source"]
    if source == "simulated":
        sim = cfg.get("simulated") or {}
        root = ensure_simulated(sim.get("cache_dir"), int(sim.get("seed", 0)), float(sim.get("seconds", 10.0)))
        records = catalog_records(cfg, root)
    elif source == "cwru":
        if cfg.get("manifest"):
            records = manifest_records(cfg, Path(str(cfg["manifest"])).expanduser())
        elif not cfg.get("root"):
            raise ConfigError("data.root is not set: point it at a folder of CWRU .mat files "
                              "(data.root=/path/to/cwru) or use data=simulated")
        else:
            records = catalog_records(cfg, Path(str(cfg["root"])).expanduser())
    else:
        raise ConfigError(f"data.source={source!r} is unknown; allowed: cwru, simulated")
    check_domains(records, cfg)
    return records


def labels_in_order(records: Sequence[Record]) -> list[str]:
    """Class names in first-seen order (the class-set order)."""
    return list(dict.fromkeys(r.label for r in records))
