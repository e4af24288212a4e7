"""data=cwru: real CWRU files in data.root, identified by file number through the built-in catalog."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from drsn_fd.data.catalog import CATALOG, KNOWN_SHA256, RPM_BY_LOAD, CatalogEntry, class_map, lookup
from drsn_fd.data.matfile import file_number, read_channel
from drsn_fd.data.records import Record
from drsn_fd.data.sources.files import mat_files, selected_loads, to_record
from drsn_fd.data.sources.registry import register_source
from drsn_fd.errors import ConfigError, DataError

log = logging.getLogger(__name__)


def _chooser(cfg: Mapping) -> tuple[dict[str, list[str]], Callable[[CatalogEntry], str | None], str]:
    """(class map, catalog entry -> its label or None when the selection leaves it out, the filters in words)."""
    cmap = class_map(cfg["classes"])
    loads = selected_loads(cfg)
    if loads is not None and cfg.get("test_speeds") is not None:  # the loads run at the test speeds
        loads |= {ld for ld, rpm in RPM_BY_LOAD.items() if float(rpm) in {float(v) for v in cfg["test_speeds"]}}
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
    for path in mat_files(root):
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
        records.append(to_record(x, p, lb, e.fs_hz, cfg, cfg["channel"], load=e.load_hp,
                                  rpm=rpm or e.rpm, number=e.number, speed=e.rpm, location=e.fault,
                                  size=None if e.fault == "normal" else e.diameter_in, state=e.code,
                                  published_sha256=KNOWN_SHA256.get(e.number)))
    return records




@register_source("cwru", reads="root")
def cwru_records(cfg: Mapping) -> list[Record]:
    """The CWRU records of data.root that the data config selects."""
    if not cfg.get("root"):
        raise ConfigError("data.root is not set: point it at a folder of CWRU .mat files "
                          "(data.root=/path/to/cwru, or DRSN_CWRU_ROOT), or use data=simulated")
    return catalog_records(cfg, Path(str(cfg["root"])).expanduser())
