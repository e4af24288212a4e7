"""Check a composed config before any work starts: one clear message per bad value."""

from __future__ import annotations

import math

from omegaconf import DictConfig, OmegaConf

from drsn_fd.data.noise import KINDS, check_snr
from drsn_fd.data.normalize import NORMALIZATIONS
from drsn_fd.data.sources import class_map
from drsn_fd.errors import ConfigError
from drsn_fd.models import list_models


def _int(value, key: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ConfigError(f"{key}={value!r} must be an integer >= {lo}")
    return value


def _snr(value, key: str) -> float:
    try:
        return check_snr(value, key)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def protocol(cfg: DictConfig) -> str:
    """matched | clean-to-noisy | mixed | clean (see the design's protocol table)."""
    if cfg.noise.kind == "none":
        return "clean"
    ts = cfg.noise.train_snr
    if ts is None:
        return "clean-to-noisy"
    if OmegaConf.is_list(ts) or isinstance(ts, (list, tuple)):
        return "mixed"
    return "matched" if float(ts) == float(cfg.noise.snr) else "mismatched"


def check_config(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first bad value and what is allowed."""
    if cfg.model.name not in list_models():
        raise ConfigError(f"model={cfg.model.name!r} is unknown; registered models: {', '.join(list_models())}")
    kind = cfg.noise.kind
    if kind not in KINDS:
        raise ConfigError(f"noise.kind={kind!r} is unknown; allowed: {', '.join(KINDS)}")
    if kind != "none":
        _snr(cfg.noise.snr, "noise.snr")
        ts = cfg.noise.train_snr
        if OmegaConf.is_list(ts):
            if len(ts) != 2:
                raise ConfigError(f"noise.train_snr={list(ts)!r} must be [lo, hi] in dB")
            lo, hi = (_snr(v, "noise.train_snr") for v in ts)
            if lo > hi:
                raise ConfigError(f"noise.train_snr=[{lo}, {hi}] must have lo <= hi")
        elif ts is not None:
            _snr(ts, "noise.train_snr")
    class_map(OmegaConf.to_container(cfg.data.classes) if OmegaConf.is_config(cfg.data.classes) else cfg.data.classes)
    split = cfg.data.split
    if not OmegaConf.is_list(split) or len(split) != 3 or not all(
            isinstance(f, (int, float)) and not isinstance(f, bool) and 0 < f < 1 for f in split):
        raise ConfigError(f"data.split={OmegaConf.to_container(split) if OmegaConf.is_config(split) else split!r} "
                          "must be three fractions in (0, 1): train, val, test")
    if sum(split) > 1 + 1e-9:
        raise ConfigError(f"data.split={list(split)} sums to {sum(split):.3g}; the fractions must fit in 1")
    for key in ("window", "stride_train", "stride_eval", "fs"):
        _int(cfg.data[key], f"data.{key}", 1)
    if cfg.data.normalize not in NORMALIZATIONS:
        raise ConfigError(f"data.normalize={cfg.data.normalize!r} is unknown; allowed: {', '.join(NORMALIZATIONS)}")
    if cfg.data.channel not in ("DE", "FE", "BA"):
        raise ConfigError(f"data.channel={cfg.data.channel!r} is unknown; allowed: DE, FE, BA")
    _int(cfg.trainer.epochs, "trainer.epochs", 0)
    _int(cfg.trainer.batch_size, "trainer.batch_size", 2)
    _int(cfg.trainer.eval_batch_size, "trainer.eval_batch_size", 1)
    snrs = cfg.eval.snrs
    if not OmegaConf.is_list(snrs):
        raise ConfigError(f"eval.snrs={snrs!r} must be a list of numbers (dB)")
    for v in snrs:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"eval.snrs contains {v!r}; it must be a list of finite numbers (dB)")
    if cfg.eval.kinds is not None:
        for k in cfg.eval.kinds:
            if k not in KINDS or k == "none":
                raise ConfigError(f"eval.kinds contains {k!r}; allowed: gaussian, laplacian, pink")
