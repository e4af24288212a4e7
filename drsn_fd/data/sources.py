"""Sources of records: real CWRU files (catalog or manifest) and the simulated set."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from drsn_fd.data.catalog import CATALOG, CLASS_SETS, CatalogEntry, lookup
from drsn_fd.data.matfile import file_number, read_channel
from drsn_fd.data.records import Record
from drsn_fd.data.resample import resample
from drsn_fd.data.simulated import ensure_simulated
from drsn_fd.errors import ConfigError, DataError

log = logging.getLogger(__name__)


def class_map(classes: str | Mapping) -> dict[str, list[str]]:
    """label -> class codes (or file numbers as strings) for a class-set name or mapping."""
    if isinstance(classes, str):
        if classes not in CLASS_SETS:
            raise ConfigError(f"data.classes={classes!r} is unknown; allowed: "
                              f"{', '.join(CLASS_SETS)} or a mapping label -> [codes or file numbers]")
        return CLASS_SETS[classes]
    if isinstance(classes, Mapping) and classes:
        out = {}
        for label, codes in classes.items():
            codes = [codes] if isinstance(codes, (str, int)) else list(codes)
            out[str(label)] = [str(c) for c in codes]
        return out
    raise ConfigError(f"data.classes={classes!r} must be 'ten', 'four' or a mapping label -> [codes]")


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


def _to_record(path: Path, label: str, fs_in: int, cfg: Mapping, number: int | None = None,
               load: int | None = None, rpm: float | None = None) -> Record:
    x, rpm_measured = read_channel(path, cfg["channel"], number)
    fs = int(cfg["fs"])
    y = resample(x, fs_in, fs).astype("float32")
    return Record(y, label, str(path), fs, int(fs_in), cfg["channel"], load,
                  rpm_measured or rpm, number)


def _chooser(cfg: Mapping) -> tuple[dict[str, list[str]], Callable[[CatalogEntry], str | None], str]:
    """(class map, catalog entry -> its label or None when the selection leaves it out, the filters in words)."""
    cmap = class_map(cfg["classes"])
    loads = None if cfg.get("loads") is None else {int(v) for v in cfg["loads"]}
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
               f"fault_end={fault_end}, source_fs={source_fs}")
    return cmap, choose, filters


def _missing(cmap: Mapping[str, list[str]], found: set[str]) -> list[str]:
    return [lb for lb in cmap if lb not in found]


def catalog_selection(cfg: Mapping) -> list[tuple[CatalogEntry, str]]:
    """Every CWRU file of the catalog that the data config selects, as (entry, label) in class-set order.

    The same choice `catalog_records` makes from a folder, made from the catalog alone: what a
    complete CWRU folder would give (`drsn-data download` fetches these).
    """
    cmap, choose, filters = _chooser(cfg)
    chosen = [(e, lb) for e in CATALOG.values() if (lb := choose(e)) is not None]
    missing = _missing(cmap, {lb for _, lb in chosen})
    if missing:
        raise DataError(f"data.classes: the CWRU catalog has no file for class(es) {', '.join(missing)} "
                        f"with {filters}")
    order = {lb: i for i, lb in enumerate(cmap)}
    return sorted(chosen, key=lambda c: (order[c[1]], c[0].number))


def catalog_records(cfg: Mapping, root: Path) -> list[Record]:
    """Records of the CWRU files in `root`, identified by file number through the catalog."""
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
    return [_to_record(p, lb, e.fs_hz, cfg, e.number, e.load_hp, e.rpm) for p, e, lb in chosen]


def manifest_records(cfg: Mapping, manifest: Path) -> list[Record]:
    """Records described by a user's manifest CSV with columns file,label[,fs,load]."""
    if not manifest.is_file():
        raise DataError(f"data.manifest={manifest}: file not found")
    try:
        df = pd.read_csv(manifest)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"data.manifest={manifest}: not a readable CSV ({e})") from None
    for col in ("file", "label"):
        if col not in df.columns:
            raise DataError(f"data.manifest={manifest}: no '{col}' column (need file,label[,fs,load])")
    loads = None if cfg.get("loads") is None else {int(v) for v in cfg["loads"]}
    records = []
    for i, row in df.iterrows():
        path = Path(str(row["file"]))
        path = path if path.is_absolute() else manifest.parent / path
        load = int(row["load"]) if "load" in df.columns and pd.notna(row["load"]) else None
        if loads is not None and load is not None and load not in loads:
            continue
        if "fs" in df.columns and pd.notna(row["fs"]):
            fs_in = int(row["fs"])
        else:
            raise DataError(f"data.manifest={manifest}: row {i + 2} ({path.name}) has no fs; "
                            "add an fs column so every record is used at the rate it was taken at")
        records.append(_to_record(path, str(row["label"]), fs_in, cfg, file_number(path), load))
    if not records:
        raise DataError(f"data.manifest={manifest}: no row left after selecting loads={sorted(loads or [])}")
    return records


def load_records(cfg: Mapping) -> list[Record]:
    """The records the data config asks for, each resampled to data.fs."""
    source = cfg["source"]
    if source == "simulated":
        sim = cfg.get("simulated") or {}
        root = ensure_simulated(sim.get("cache_dir"), int(sim.get("seed", 0)), float(sim.get("seconds", 10.0)))
        return catalog_records(cfg, root)
    if source == "cwru":
        if cfg.get("manifest"):
            return manifest_records(cfg, Path(str(cfg["manifest"])).expanduser())
        if not cfg.get("root"):
            raise ConfigError("data.root is not set: point it at a folder of CWRU .mat files "
                              "(data.root=/path/to/cwru) or use data=simulated")
        return catalog_records(cfg, Path(str(cfg["root"])).expanduser())
    raise ConfigError(f"data.source={source!r} is unknown; allowed: cwru, simulated")


def labels_in_order(records: Sequence[Record]) -> list[str]:
    """Class names in first-seen order (the class-set order)."""
    return list(dict.fromkeys(r.label for r in records))
