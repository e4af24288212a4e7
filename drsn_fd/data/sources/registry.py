"""Data sources by name, as models are: `register_source`, `list_sources`, `source_reader`.

A source turns a data config into records with their domain attributes. A new data set is one
module here that registers its reader, plus one `configs/data/<name>.yaml` naming it in `source:`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from drsn_fd.data.records import Record
from drsn_fd.errors import ConfigError

Reader = Callable[[Mapping], list[Record]]
_SOURCES: dict[str, Reader] = {}


def register_source(name: str) -> Callable[[Reader], Reader]:
    """Register a reader: data config -> its records."""

    def wrap(fn: Reader) -> Reader:
        _SOURCES[name] = fn
        return fn

    return wrap


def list_sources() -> list[str]:
    """Names of every registered source."""
    return sorted(_SOURCES)


def source_reader(name: object) -> Reader:
    """The reader of source `name`; ConfigError naming the registered sources if there is none."""
    if name not in _SOURCES:
        raise ConfigError(f"data.source={name!r} is unknown; registered sources: {', '.join(list_sources())}")
    return _SOURCES[name]
