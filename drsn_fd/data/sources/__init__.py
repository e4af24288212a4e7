"""Sources of records, one module each in a registry: cwru, manifest, simulated.

`load_records(cfg)` reads what the data config asks for and checks that its split leaves every
class on each side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from drsn_fd.data.records import Record
from drsn_fd.data.sources import cwru, manifest, simulated  # noqa: F401  (registers the sources)
from drsn_fd.data.sources.cwru import catalog_selection
from drsn_fd.data.sources.registry import list_sources, register_source, source_reader
from drsn_fd.errors import DataError

__all__ = ["catalog_selection", "check_domains", "labels_in_order", "list_sources", "load_records",
           "register_source", "source_reader"]


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
    """The records the data config asks for, each resampled to data.fs, from its registered source."""
    records = source_reader(cfg["source"])(cfg)
    check_domains(records, cfg)
    return records


def labels_in_order(records: Sequence[Record]) -> list[str]:
    """Class names in first-seen order (the class-set order)."""
    return list(dict.fromkeys(r.label for r in records))
