"""data=simulated: the embedded default, simulated CWRU-style records written once into a cache."""

from __future__ import annotations

from collections.abc import Mapping

from drsn_fd.data.records import Record
from drsn_fd.data.simulated import ensure_simulated
from drsn_fd.data.sources.cwru import catalog_records
from drsn_fd.data.sources.registry import register_source


@register_source("simulated")
def simulated_records(cfg: Mapping) -> list[Record]:
    """The simulated set's records, read from its cache by the CWRU loader."""
    sim = cfg.get("simulated") or {}
    root = ensure_simulated(sim.get("cache_dir"), int(sim.get("seed", 0)), float(sim.get("seconds", 10.0)))
    return catalog_records(cfg, root)
