"""The shift protocols: one table {config key -> record attribute}, and what follows from it.

`data.test_loads`, `data.test_speeds`, `data.test_rigs`, `data.test_sizes` and `data.test_groups`
are one mechanism: the records whose attribute takes a test value are the test set, whole; the
others train, each cut train | val | within by time (`within`: a within-record test beside the
shift test). At most one test key is set. The config side is checked by
`validate.check_domains`, the records side by `data.sources.check_domains`, the roles and the
name in words come from here (`record_roles`, `protocol_name`).

Normal records have no fault size. Under data.test_sizes they are `shared`: cut train | val |
test by time like a within-record split, so the normal class is on both sides but as disjoint
stretches of its one recording (its later stretch is in both the shift test and `within`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drsn_fd.data.records import Record


@dataclass(frozen=True)
class Shift:
    """One shift protocol: the config key of its test values, and the record attribute they pick."""

    key: str  # test_loads
    attribute: str  # load
    name: str  # cross-load
    kind: str  # int | number | text: how values are read and compared
    what: str  # what a value is, for errors: "loads in hp (integers)"
    unit: str = ""  # after the values in the name: "hp"
    train_key: str | None = None  # the training selection of the same attribute: data.loads
    place: str = "at {attr}{s} {values}"  # where a record of these values is, for errors
    hint: str | None = None  # how to leave a class out that a side lacks (None: the generic one)


SHIFTS: dict[str, Shift] = {s.key: s for s in (
    Shift("test_loads", "load", "cross-load", "int", "loads in hp (integers)", "hp", "loads",
          "at load{s} {values} hp"),
    Shift("test_speeds", "speed", "cross-speed", "number", "speeds in rpm (numbers)", "rpm", "speeds",
          "at {values} rpm"),
    Shift("test_rigs", "rig", "cross-rig", "text", "rig names", "", "rigs", "on rig{s} {values}"),
    Shift("test_sizes", "size", "cross-size", "number", "fault sizes (numbers: CWRU inches, HIT-SM degrees)",
          "", None, "of size{s} {values}", "data.classes=location (classes that do not name a size)"),
    Shift("test_groups", "group", "grouped", "text", "group names", "", None, "in the {side} groups"),
)}
# training selections, each of the attribute of one shift: data.loads, data.speeds, data.rigs
TRAIN_KEYS: dict[str, Shift] = {s.train_key: s for s in SHIFTS.values() if s.train_key}
VAL_KEY = "val_groups"  # grouped only: these groups' whole records validate
ROLES = ("time", "fit", "shared", "train", "val", "test")


def active_shift(cfg: Mapping) -> Shift | None:
    """The shift protocol the data config asks for (validate.check_domains allows at most one)."""
    return next((s for k, s in SHIFTS.items() if cfg.get(k) is not None), None)


def value_key(value: object, kind: str) -> object:
    """A value as it is compared: numbers rounded (0.021 from YAML equals the catalog's 0.021), text as str."""
    if value is None:
        return None
    return str(value) if kind == "text" else round(float(value), 9)


def show(value: object) -> str:
    """A value in words: 900 not 900.0, 0.021, mfs."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def show_list(values: Sequence) -> str:
    return f"[{', '.join(show(v) for v in values)}]"


def values_of(cfg: Mapping, key: str, kind: str) -> list | None:
    """The config's values of `key` (a list, one value, or None), sorted and without repeats."""
    raw = cfg.get(key)
    if raw is None:
        return None
    items = list(raw) if isinstance(raw, Sequence) and not isinstance(raw, str) else [raw]
    items = [str(v) if kind == "text" else v for v in items]
    return sorted(dict.fromkeys(items), key=lambda v: value_key(v, kind))


def is_shared(rec: Record, shift: Shift) -> bool:
    """A normal record under data.test_sizes: it has no size, so it is on both sides (by time)."""
    return shift.attribute == "size" and rec.size is None and rec.location == "normal"


def record_roles(records: Sequence[Record], cfg: Mapping) -> list[str]:
    """Each record's part in the split: 'time' (train | val | test by time, the default), 'fit'
    (train | val | within by time: a training record of a shift protocol), 'shared' (train | val |
    test by time, its test stretch also in 'within': a normal record under data.test_sizes), or
    'train', 'val' or 'test' (the whole record: the test values of the shift, data.val_groups)."""
    shift = active_shift(cfg)
    if shift is None:
        return ["time"] * len(records)
    test = {value_key(v, shift.kind) for v in values_of(cfg, shift.key, shift.kind)}
    val = {value_key(v, "text") for v in values_of(cfg, VAL_KEY, "text") or []} if shift.key == "test_groups" else set()
    rest = "train" if val else "fit"
    roles = []
    for r in records:
        v = value_key(getattr(r, shift.attribute), shift.kind)
        roles.append("shared" if is_shared(r, shift) else "test" if v in test else "val" if v in val else rest)
    return roles


def protocol_name(cfg: Mapping, records: Sequence[Record] | None = None) -> str:
    """The split in words with its domains: `cross-rig selfbuilt -> mfs`, `cross-load 0 -> 1 hp`.

    The training values are those of the training records when `records` are given, else the
    training selection of the config (`data.loads`), else "all other <attribute>s".
    """
    shift = active_shift(cfg)
    if shift is None:
        return "within-record (time split)"
    test = values_of(cfg, shift.key, shift.kind)
    shared = ""
    if records is not None:
        roles = record_roles(records, cfg)
        train = sorted({getattr(r, shift.attribute) for r, role in zip(records, roles, strict=True)
                        if role in ("fit", "train")} - {None}, key=lambda v: value_key(v, shift.kind))
        if "shared" in roles:
            shared = " (normal: split by time)"
    else:
        train = values_of(cfg, shift.train_key, shift.kind) if shift.train_key else None
        if shift.attribute == "size":
            shared = " (normal: split by time)"
    words = ",".join(show(v) for v in train) if train else f"all other {shift.attribute}s"
    unit = f" {shift.unit}" if shift.unit else ""
    name = f"{shift.name} {words} -> {','.join(show(v) for v in test)}{unit}{shared}"
    if shift.key == "test_groups" and (val := values_of(cfg, VAL_KEY, "text")):
        name += f" (validation {','.join(val)})"
    return name
