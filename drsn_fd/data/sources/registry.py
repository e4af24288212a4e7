"""Data sources by name, as models are: `register_source`, `list_sources`, `source_reader`, `class_map_of`, `input_key`.

A source turns a data config into records with their domain attributes. A new data set is one
module here that registers its reader (and, where its class codes are its own, the reader of its
`data.classes`; `reads`: the data key naming the folder or file it reads), plus one
`configs/data/<name>.yaml` naming it in `source:`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from drsn_fd.data.catalog import class_map
from drsn_fd.data.records import Record
from drsn_fd.errors import ConfigError

Reader = Callable[[Mapping], list[Record]]
ClassMap = Callable[[object], dict[str, list[str]]]
_SOURCES: dict[str, Reader] = {}
_CLASS_MAPS: dict[str, ClassMap] = {}
_READS: dict[str, str | None] = {}


def register_source(name: str, classes: ClassMap | None = None,
                    reads: str | None = None) -> Callable[[Reader], Reader]:
    """Register a reader: data config -> its records; `classes`: data.classes -> label -> [codes]
    (default: the CWRU class sets and codes of `drsn_fd.data.catalog.class_map`); `reads`: the data
    key holding the path it reads (None: it makes its own data)."""

    def wrap(fn: Reader) -> Reader:
        _SOURCES[name] = fn
        _READS[name] = reads
        if classes is not None:
            _CLASS_MAPS[name] = classes
        return fn

    return wrap


def class_map_of(name: object) -> ClassMap:
    """The reader of data.classes for source `name`: ConfigError on an unknown set or code."""
    return _CLASS_MAPS.get(str(name), class_map)


def list_sources() -> list[str]:
    """Names of every registered source."""
    return sorted(_SOURCES)


def source_reader(name: object) -> Reader:
    """The reader of source `name`; ConfigError naming the registered sources if there is none."""
    if name not in _SOURCES:
        raise ConfigError(f"data.source={name!r} is unknown; registered sources: {', '.join(list_sources())}")
    return _SOURCES[name]


def input_key(name: object) -> str | None:
    """The data key naming the folder or file source `name` reads (`root`, `manifest`); None if it reads none."""
    source_reader(name)
    return _READS[str(name)]
