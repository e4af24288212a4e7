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


def seeds_error(seeds: object) -> str | None:
    """What is wrong with a `seeds` mapping (a part that is none, a seed not null or an integer >= 0),
    or None: the one rule for a config (validate.py) and for a checkpoint's stored config."""
    if not isinstance(seeds, Mapping):
        return f"seeds={seeds!r} must map parts ({', '.join(SEED_PARTS)}) to seeds"
    for part, value in seeds.items():
        if part not in SEED_PARTS:
            return f"seeds.{part} is not a part of training; allowed: {', '.join(SEED_PARTS)}"
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            return f"seeds.{part}={value!r} must be an integer >= 0"
    return None
