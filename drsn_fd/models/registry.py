"""Named model factories, as in timm: `register_model` and `create_model`."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from drsn_fd.errors import ConfigError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a factory under its function name."""
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """Names of every registered model."""
    return sorted(_REGISTRY)


def create_model(name: str, num_classes: int, **kwargs) -> nn.Module:
    """Build the registered model `name` for `num_classes` classes."""
    if name not in _REGISTRY:
        raise ConfigError(f"model={name!r} is unknown; registered models: {', '.join(list_models())}")
    return _REGISTRY[name](num_classes=num_classes, **kwargs)
