"""The seeds of a run's parts: `seed` seeds them all, `seeds.<part>` one of them apart (no torch).

Val and test noise always follow `seed`, so runs that differ only in a part's seed are scored on
the very same windows (sweep=seed_diagnosis changes one part at a time).
"""

from __future__ import annotations

from collections.abc import Mapping

SEED_PARTS = ("init", "order", "train_noise")  # initial weights, training-window order, training noise


def part_seed(cfg: Mapping, part: str) -> int:
    """The seed of one part of training: `seeds.<part>` where set, else `seed`."""
    own = (cfg.get("seeds") or {}).get(part)
    return int(cfg["seed"] if own is None else own)
