"""The one config checker: every bad value is refused in one line naming the key, before any work.

It imports no torch (drsn-train checks a config with it before torch is loaded); only the model
name check at the end of `check_config` reads the model registry, which does.
"""

from __future__ import annotations

import math

from omegaconf import DictConfig, OmegaConf

from drsn_fd.data.catalog import class_map
from drsn_fd.data.matfile import CHANNELS
from drsn_fd.data.noise_spec import KINDS, NORMALIZATIONS, check_noise_params, check_snr
from drsn_fd.data.sources import source_reader
from drsn_fd.errors import ConfigError


def _plain(value):
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


def _int(value, key: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ConfigError(f"{key}={value!r} must be an integer >= {lo}")
    return value


def _snr(value, key: str) -> float:
    try:
        return check_snr(value, key)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def _one_of(value, key: str, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is unknown; allowed: {', '.join(map(str, allowed))}")


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


def check_noise(noise: DictConfig) -> None:
    """noise.kind, its SNRs (finite dB) and its training SNR (a number, null or [lo, hi])."""
    _one_of(noise.kind, "noise.kind", KINDS)
    try:
        check_noise_params(noise)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if noise.kind == "none":
        return
    _snr(noise.snr, "noise.snr")
    ts = noise.train_snr
    if OmegaConf.is_list(ts):
        if len(ts) != 2:
            raise ConfigError(f"noise.train_snr={list(ts)!r} must be [lo, hi] in dB")
        lo, hi = (_snr(v, "noise.train_snr") for v in ts)
        if lo > hi:
            raise ConfigError(f"noise.train_snr=[{lo}, {hi}] must have lo <= hi")
    elif ts is not None:
        _snr(ts, "noise.train_snr")


def check_data(data: DictConfig) -> None:
    """Source, class set, split fractions, window and strides, rate, normalisation and channel."""
    source_reader(data.get("source"))
    class_map(_plain(data.classes))
    split = data.split
    if not OmegaConf.is_list(split) or len(split) != 3 or not all(
            isinstance(f, (int, float)) and not isinstance(f, bool) and 0 < f < 1 for f in split):
        raise ConfigError(f"data.split={_plain(split)!r} must be three fractions in (0, 1): train, val, test")
    if sum(split) > 1 + 1e-9:
        raise ConfigError(f"data.split={list(split)} sums to {sum(split):.3g}; the fractions must fit in 1")
    for key in ("window", "stride_train", "stride_eval", "fs"):
        _int(data[key], f"data.{key}", 1)
    _one_of(data.normalize, "data.normalize", NORMALIZATIONS)
    _one_of(data.channel, "data.channel", CHANNELS)
    if data.get("source") == "cwru" and data.get("root") in (None, "") and not data.get("manifest"):
        raise ConfigError("data.root is not set: point it at a folder of CWRU .mat files "
                          "(data.root=/path/to/cwru, or DRSN_CWRU_ROOT), give data.manifest, or use data=simulated")
    tf = data.get("train_fraction", 1.0)
    if isinstance(tf, bool) or not isinstance(tf, (int, float)) or not 0 < tf <= 1:
        raise ConfigError(f"data.train_fraction={tf!r} must be a fraction in (0, 1]")
    check_domains(data)


def _list(data: DictConfig, key: str, of: type) -> list | None:
    value = data.get(key)
    if value is None:
        return None
    items = _plain(value) if OmegaConf.is_list(value) else [value]
    if not items or not all(isinstance(v, of) and not isinstance(v, bool) for v in items):
        raise ConfigError(f"data.{key}={_plain(value)!r} must be a non-empty list of "
                          f"{'loads in hp (integers)' if of is int else 'group names'}, or null")
    return items


def check_domains(data: DictConfig) -> None:
    """The shift protocols: test loads apart from the training loads, or test groups; not both."""
    loads, test_loads = _list(data, "loads", int), _list(data, "test_loads", int)
    test_groups, val_groups = _list(data, "test_groups", (str, int)), _list(data, "val_groups", (str, int))
    if test_loads is not None and test_groups is not None:
        raise ConfigError("data.test_loads and data.test_groups are both set; choose one shift protocol")
    if val_groups is not None and test_groups is None:
        raise ConfigError("data.val_groups needs data.test_groups (the grouped split)")
    if test_loads is not None and loads is not None and (both := sorted(set(loads) & set(test_loads))):
        raise ConfigError(f"data.loads={loads} and data.test_loads={test_loads} share load(s) {both}: "
                          "a test record would also be trained on")
    if test_groups is not None and val_groups is not None and (both := sorted(set(map(str, test_groups))
                                                                                & set(map(str, val_groups)))):
        raise ConfigError(f"data.test_groups and data.val_groups share group(s) {both}")


def check_eval(ev: DictConfig) -> None:
    """eval.snrs (finite dB) and eval.kinds (noise kinds)."""
    if not OmegaConf.is_list(ev.snrs):
        raise ConfigError(f"eval.snrs={ev.snrs!r} must be a list of numbers (dB)")
    for v in ev.snrs:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"eval.snrs contains {v!r}; it must be a list of finite numbers (dB)")
    for k in ev.kinds or []:
        if k not in KINDS or k == "none":
            raise ConfigError(f"eval.kinds contains {k!r}; allowed: {', '.join(k for k in KINDS if k != 'none')}")


def check_config(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first bad value and what is allowed."""
    check_values(cfg)
    from drsn_fd.models import list_models, registry  # last: the registry imports torch

    if cfg.model.name not in list_models():
        raise registry.unknown_model(cfg.model.name)


def check_values(cfg: DictConfig) -> None:
    """Every check of `check_config` but the model name: no torch, so drsn-train runs it first."""
    check_noise(cfg.noise)
    check_data(cfg.data)
    _int(cfg.trainer.epochs, "trainer.epochs", 0)
    _int(cfg.trainer.batch_size, "trainer.batch_size", 2)
    _int(cfg.trainer.eval_batch_size, "trainer.eval_batch_size", 1)
    if cfg.trainer.threads not in (None, "auto"):
        _int(cfg.trainer.threads, "trainer.threads", 1)
    check_eval(cfg.eval)
