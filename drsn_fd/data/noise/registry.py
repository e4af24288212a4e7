"""Noise kinds by name, as models and data sources are: `register_noise`, `list_noise_kinds`, `noise_kind`.

A kind is a function `draw(shape, gen, device, **params)` of unit-free noise (any scale: the SNR
rule of `snr.add_noise` rescales every kind alike), drawn from the torch generator `gen` on
`device`. Its parameters are config keys `noise.<name>`, each with a default and a rule. A new
kind is one module in `noise/kinds/` that registers its function, plus `configs/noise/<kind>.yaml`.

This module and the kinds import no torch at load time: `validate.py` reads the registry before
torch is imported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

NO_NOISE = "none"  # noise.kind=none: a clean run; no kind is drawn


@dataclass(frozen=True)
class Param:
    """A kind's parameter: its default, the rule a value must pass, and that rule in words."""

    default: float
    ok: Callable[[float], bool]
    allowed: str


@dataclass(frozen=True)
class NoiseKind:
    """A registered noise kind: its draw function and its parameters."""

    name: str
    draw: Callable
    order: int  # display order: reports, `drsn-data info`, the allowed kinds in messages
    params: Mapping[str, Param] = field(default_factory=dict)


_KINDS: dict[str, NoiseKind] = {}


def register_noise(name: str, *, order: int, params: Mapping[str, Param] | None = None) -> Callable:
    """Register `draw(shape, gen, device, **params)` as the noise kind `name`, shown at `order`.

    A parameter is one config key (`noise.<key>`) for every kind: two kinds may share a
    parameter only as the same `Param` object (one imports it from the other's module).
    """
    params = dict(params or {})
    for other in _KINDS.values():
        for key in params.keys() & other.params.keys():
            if params[key] != other.params[key]:
                raise ValueError(f"noise kind {name!r}: parameter {key!r} differs from that of kind {other.name!r}")

    def wrap(fn: Callable) -> Callable:
        _KINDS[name] = NoiseKind(name, fn, order, params)
        return fn

    return wrap


def list_noise_kinds() -> list[str]:
    """Names of every registered kind, in display order; 'none' (no noise) is no kind."""
    return sorted(_KINDS, key=lambda n: (_KINDS[n].order, n))


def noise_kind(name: object) -> NoiseKind:
    """The registered kind `name`; ValueError naming the registered kinds if there is none."""
    if not isinstance(name, str) or name not in _KINDS:
        raise ValueError(f"unknown noise kind {name!r}; allowed: {', '.join(list_noise_kinds())}")
    return _KINDS[name]


def registered_params() -> dict[str, Param]:
    """Every parameter of every registered kind, by config key."""
    return {key: p for kind in _KINDS.values() for key, p in kind.params.items()}


def noise_defaults() -> dict[str, float]:
    """The default of every parameter of every registered kind (configs/noise/_base.yaml repeats them)."""
    return {key: p.default for key, p in registered_params().items()}


def check_noise_params(params: Mapping) -> None:
    """ValueError naming the key if a registered kind's parameter (where present) is out of range."""
    for key, p in registered_params().items():
        if key not in params:
            continue
        v = params[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not p.ok(v):
            raise ValueError(f"noise.{key}={v!r} is not allowed; it must be {p.allowed}")
