"""Sources of records, one module each in a registry: cwru, hit, manifest, simulated.

`load_records(cfg)` reads what the data config asks for and checks that its split (a shift
protocol of `drsn_fd.data.domains`) leaves every class on each side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from drsn_fd.data import domains
from drsn_fd.data.domains import Shift, show, show_list, value_key, values_of
from drsn_fd.data.records import Record
from drsn_fd.data.sources import cwru, hit, manifest, simulated  # noqa: F401  (registers the sources)
from drsn_fd.data.sources.cwru import catalog_selection
from drsn_fd.data.sources.registry import (
    class_map_of,
    input_key,
    list_sources,
    register_source,
    source_reader,
)
from drsn_fd.errors import DataError

__all__ = ["catalog_selection", "check_domains", "class_map_of", "input_key", "labels_in_order", "list_sources",
           "load_records", "register_source", "source_reader"]


def _place(shift: Shift, values: Sequence, side: str) -> str:
    """Where records of these values are, in words: "at load 1 hp", "on rig mfs", "in the test groups"."""
    return shift.place.format(attr=shift.attribute, s="s" if len(values) > 1 else "",
                              values=", ".join(show(v) for v in values), side=side)


def _refuse_gaps(records: Sequence[Record], on_side: Sequence[bool], setting: str, place: str, where: str,
                 shift: Shift) -> None:
    have = {r.label for r, on in zip(records, on_side, strict=True) if on}
    missing = [c for c in labels_in_order(records) if c not in have]
    if missing:
        hint = shift.hint or ("leave them out with "
                              + ("data.classes=faults or a mapping" if "normal" in missing else "a data.classes mapping"))
        raise DataError(f"{setting}: no record of class(es) {', '.join(missing)} {place} in {where}; {hint}")


def _no_value(cfg: Mapping, shift: Shift) -> str:
    if cfg.get("manifest"):
        return _MANIFEST_HINTS.get(shift.attribute, f"the manifest (data.manifest) has no {shift.attribute} column")
    return f"data={cfg.get('source')} records carry no {shift.attribute}; choose another data.test_* key"


_MANIFEST_HINTS = {"load": "give every manifest row a load", "group": "give the manifest (data.manifest) a group column"}


def check_domains(records: Sequence[Record], cfg: Mapping) -> None:
    """Refuse a shift split (data.test_loads, test_speeds, test_rigs, test_sizes, test_groups) whose
    test values no record has, or that leaves a class out of its training or its test side.

    The sides are the records' roles (`drsn_fd.data.domains.record_roles`): training the 'fit',
    'train' and 'shared' records, test the 'test' and 'shared' ones ('val': data.val_groups, neither).
    """
    shift = domains.active_shift(cfg)
    if shift is None:
        return
    where = str(cfg.get("manifest") or cfg.get("root") or "the simulated set")
    attr, kind = shift.attribute, shift.kind
    test = values_of(cfg, shift.key, kind)
    setting = f"data.{shift.key}={show_list(test)}"
    if (bad := next((r for r in records if getattr(r, attr) is None and not domains.is_shared(r, shift)), None)) is not None:
        raise DataError(f"{setting}: {bad.file} has no {attr}; {_no_value(cfg, shift)}")
    present = sorted({getattr(r, attr) for r in records} - {None}, key=lambda v: value_key(v, kind))
    have = {value_key(v, kind) for v in present}
    val = values_of(cfg, domains.VAL_KEY, "text") if shift.key == "test_groups" else None
    for key, named in ((shift.key, test), (domains.VAL_KEY, val or [])):
        if unknown := [show(v) for v in named if value_key(v, kind) not in have]:
            raise DataError(f"data.{key}={show_list(named)}: no record of {attr}(s) {', '.join(unknown)} in {where}; "
                            f"{attr}s there: {', '.join(show(v) for v in present)}")
    roles = domains.record_roles(records, cfg)
    on_train = [role in ("fit", "train", "shared") for role in roles]
    if shift.train_key:
        chosen = values_of(cfg, shift.train_key, kind)
        test_keys = {value_key(v, kind) for v in test}
        train = [v for v in chosen or [] if value_key(v, kind) not in test_keys]
        train_setting = f"data.{shift.train_key}={show_list(chosen) if chosen is not None else 'null'}"
        train_place = _place(shift, train, "training") if train else f"outside the test {attr}s"
    else:
        train = sorted({getattr(r, attr) for r, on in zip(records, on_train, strict=True) if on} - {None},
                       key=lambda v: value_key(v, kind))
        train_setting, train_place = setting, _place(shift, train, "training")
    _refuse_gaps(records, on_train, train_setting, train_place, where, shift)
    _refuse_gaps(records, [role in ("test", "shared") for role in roles], setting, _place(shift, test, "test"),
                 where, shift)


def load_records(cfg: Mapping) -> list[Record]:
    """The records the data config asks for, each resampled to data.fs, from its registered source."""
    records = source_reader(cfg["source"])(cfg)
    check_domains(records, cfg)
    return records


def labels_in_order(records: Sequence[Record]) -> list[str]:
    """Class names in first-seen order (the class-set order)."""
    return list(dict.fromkeys(r.label for r in records))
