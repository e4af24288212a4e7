"""Named model factories, as in timm: `register_model`, `create_model` and `build_model`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from drsn_fd.errors import ConfigError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
LEGACY_TARGET = "drsn_fd.models.create_model"  # checkpoints written before the YAMLs named their factory


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a factory under its function name."""
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """Names of every registered model."""
    return sorted(_REGISTRY)


def unknown_model(name: object) -> ConfigError:
    """The one error for a model name the registry does not hold."""
    return ConfigError(f"model={name!r} is unknown; registered models: {', '.join(list_models())}")


def create_model(name: str, num_classes: int, **kwargs) -> nn.Module:
    """Build the registered model `name` for `num_classes` classes."""
    if name not in _REGISTRY:
        raise unknown_model(name)
    return _REGISTRY[name](num_classes=num_classes, **kwargs)


def build_model(model_cfg: Mapping | DictConfig, num_classes: int) -> nn.Module:
    """The model of a `model` config: its `_target_` factory called with the other keys but `name`."""
    cfg = OmegaConf.to_container(model_cfg, resolve=True) if OmegaConf.is_config(model_cfg) else dict(model_cfg)
    name = cfg.get("name")
    if name not in _REGISTRY:
        raise unknown_model(name)
    if cfg.get("_target_") != LEGACY_TARGET:
        cfg.pop("name")
    return instantiate(cfg, num_classes=num_classes)
