"""Named model factories, as in timm: `register_model` and `create_model`, the one way to build.

A model is built from its registered name and plain keyword sizes (numbers, strings, booleans),
from a config and from a checkpoint alike. Nothing named in a config or a file is imported or
called: `model_from_config` refuses a `_target_` other than the model's own registered factory.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from torch import nn

from drsn_fd.errors import ConfigError

PLAIN = (bool, int, float, str)  # what a size may be


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its factory and the facts a report needs about it."""

    name: str
    factory: Callable[..., nn.Module]
    family: str  # drsn | baseline | control | reference
    order: int  # display order in tables and figures
    colour: str  # its colour in every figure
    sizes: tuple[str, ...] = field(default=())  # the keyword sizes the factory takes
    min_window: int = 1  # the shortest window (samples) it can classify

    @property
    def target(self) -> str:
        """The factory's import path, as the model YAMLs of older versions named it."""
        return f"{self.factory.__module__}.{self.factory.__name__}"

    @property
    def is_drsn(self) -> bool:
        return self.family == "drsn"

    @property
    def is_baseline(self) -> bool:
        """What a DRSN is paired against in the report: the plain ResNet and the attention control."""
        return self.family in ("baseline", "control")


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(*, family: str, order: int, colour: str, min_window: int = 1) -> Callable:
    """Register a factory under its function name, with its family, display order, colour and shortest window."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        params = inspect.signature(fn).parameters
        sizes = tuple(p for p in params if p != "num_classes")
        _REGISTRY[fn.__name__] = ModelEntry(fn.__name__, fn, family, order, colour, sizes, min_window)
        return fn

    return wrap


def list_models() -> list[str]:
    """Names of every registered model, in display order."""
    return sorted(_REGISTRY, key=lambda n: (_REGISTRY[n].order, n))


def unknown_model(name: object) -> ConfigError:
    """The one error for a model name the registry does not hold."""
    return ConfigError(f"model={name!r} is unknown; registered models: {', '.join(list_models())}")


def model_entry(name: object) -> ModelEntry:
    """The registry entry of `name`; ConfigError naming the registered models if there is none."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise unknown_model(name)
    return _REGISTRY[name]


def create_model(name: str, num_classes: int, **sizes) -> nn.Module:
    """Build the registered model `name` for `num_classes` classes with plain keyword sizes."""
    entry = model_entry(name)
    for key, value in sizes.items():
        if key not in entry.sizes:
            raise ConfigError(f"model.{key}: {name} takes no such size; its sizes: {', '.join(entry.sizes)}")
        if not isinstance(value, PLAIN):
            raise ConfigError(f"model.{key}={value!r} must be a number, string or boolean")
    return entry.factory(num_classes=num_classes, **sizes)


def model_sizes(model_cfg: Mapping, where: str = "model") -> tuple[str, dict]:
    """(name, sizes) of a model config; ConfigError naming `where` and the key for anything else.

    A `_target_` is allowed only where it names the model's own registered factory (older
    checkpoints and configs carry one); it is never called.
    """
    cfg = dict(model_cfg)
    name = cfg.pop("name", None)
    entry = model_entry(name) if isinstance(name, str) else None
    if entry is None:
        raise ConfigError(f"{where}: model name {name!r} is not a registered model name; "
                          f"registered models: {', '.join(list_models())}")
    target = cfg.pop("_target_", None)
    if target is not None and target != entry.target:
        raise ConfigError(f"{where}: key _target_={target!r} is not the factory of model {name!r}; refused "
                          "(a model is built from the registry by its name, nothing named in a file is called)")
    for key, value in cfg.items():
        if key not in entry.sizes:
            raise ConfigError(f"{where}: key {key!r} is not a size of model {name!r} "
                              f"(its sizes: {', '.join(entry.sizes)}); refused")
        if not isinstance(value, PLAIN):
            raise ConfigError(f"{where}: key {key!r} holds a {type(value).__name__}, where a size must be a "
                              "number, string or boolean; refused")
    return name, cfg


def model_from_config(model_cfg: Mapping, num_classes: int, where: str = "model") -> nn.Module:
    """The model of a `model` config (its name and sizes), built by `create_model`."""
    name, sizes = model_sizes(model_cfg, where)
    return create_model(name, num_classes, **sizes)
