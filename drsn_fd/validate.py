"""The one config checker: every bad value is refused in one line naming the key, before any work.

It imports no torch (drsn-train checks a config with it before torch is loaded); only the model
name check at the end of `check_config` reads the model registry, which does.
"""

from __future__ import annotations

import math

from omegaconf import DictConfig, OmegaConf

from drsn_fd.data.domains import SHIFTS, TRAIN_KEYS, VAL_KEY, show_list, value_key
from drsn_fd.data.matfile import CHANNELS
from drsn_fd.data.noise import NO_NOISE, check_noise_params, list_noise_kinds
from drsn_fd.data.noise_spec import NORMALIZATIONS, check_snr
from drsn_fd.data.seeds import seeds_error
from drsn_fd.data.sources import class_map_of, source_reader
from drsn_fd.errors import ConfigError

MAX_SIMULATED_S = 600  # the simulated records' length: a bound, so no config fills a disk


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
    _one_of(noise.kind, "noise.kind", [*list_noise_kinds(), NO_NOISE])
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
    if data.get("source") == "manifest":
        if not data.get("manifest"):
            raise ConfigError("data.manifest is not set: data=manifest reads your files through a CSV with "
                              "columns file,label[,fs,load,key,fs_key,group,column]; give data.manifest=FILE")
    elif data.get("manifest"):
        raise ConfigError(f"data.manifest is set with data={data.get('source')}: your own files are "
                          "their own data config, data=manifest data.manifest=FILE")
    if data.classes is not None or data.get("source") != "manifest":  # null: the manifest's own labels
        class_map_of(data.get("source"))(_plain(data.classes))
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
    if data.get("source") == "cwru" and data.get("root") in (None, ""):
        raise ConfigError("data.root is not set: point it at a folder of CWRU .mat files "
                          "(data.root=/path/to/cwru, or DRSN_CWRU_ROOT), or use data=simulated "
                          "(your own files: data=manifest)")
    seconds = OmegaConf.select(data, "simulated.seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or not 0 < seconds <= MAX_SIMULATED_S):
        raise ConfigError(f"data.simulated.seconds={seconds!r} must be a number of seconds in (0, {MAX_SIMULATED_S}]")
    tf = data.get("train_fraction", 1.0)
    if isinstance(tf, bool) or not isinstance(tf, (int, float)) or not 0 < tf <= 1:
        raise ConfigError(f"data.train_fraction={tf!r} must be a fraction in (0, 1]")
    check_domains(data)


_KINDS = {"int": int, "number": (int, float), "text": (str, int)}  # the YAML types of a shift's values


def _list(data: DictConfig, key: str, kind: str, what: str) -> list | None:
    value = data.get(key)
    if value is None:
        return None
    items = _plain(value) if OmegaConf.is_list(value) else [value]
    if not items or not all(isinstance(v, _KINDS[kind]) and not isinstance(v, bool) for v in items):
        raise ConfigError(f"data.{key}={_plain(value)!r} must be a non-empty list of {what}, or null")
    return items


def check_domains(data: DictConfig) -> None:
    """The shift protocols (`drsn_fd.data.domains.SHIFTS`): at most one test key (data.test_loads,
    test_speeds, test_rigs, test_sizes, test_groups), a list of its attribute's values, none of them
    in the training selection of the same attribute (data.loads, data.speeds, data.rigs)."""
    tests = {k: _list(data, k, s.kind, s.what) for k, s in SHIFTS.items()}
    trains = {k: _list(data, k, s.kind, s.what) for k, s in TRAIN_KEYS.items()}
    val_groups = _list(data, VAL_KEY, "text", "group names")
    if len(named := [f"data.{k}" for k, v in tests.items() if v is not None]) > 1:
        raise ConfigError(f"{' and '.join(named)} are {'both' if len(named) == 2 else 'all'} set; "
                          "choose one shift protocol")
    if val_groups is not None and tests["test_groups"] is None:
        raise ConfigError("data.val_groups needs data.test_groups (the grouped split)")
    pairs = [(f"data.{k}", trains[k], f"data.{s.key}", tests[s.key], s) for k, s in TRAIN_KEYS.items()]
    pairs.append((f"data.{SHIFTS['test_groups'].key}", tests["test_groups"], f"data.{VAL_KEY}", val_groups,
                  SHIFTS["test_groups"]))
    for key_a, a, key_b, b, shift in pairs:
        if a is None or b is None:
            continue
        keys_b = {value_key(v, shift.kind) for v in b}
        if both := [v for v in a if value_key(v, shift.kind) in keys_b]:
            clash = ": a test record would also be trained on" if key_b != f"data.{VAL_KEY}" else ""
            raise ConfigError(f"{key_a}={show_list(a)} and {key_b}={show_list(b)} share "
                              f"{shift.attribute}(s) {show_list(both)}{clash}")


def check_eval(ev: DictConfig) -> None:
    """eval.snrs (finite dB) and eval.kinds (noise kinds)."""
    if not OmegaConf.is_list(ev.snrs):
        raise ConfigError(f"eval.snrs={ev.snrs!r} must be a list of numbers (dB)")
    for v in ev.snrs:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"eval.snrs contains {v!r}; it must be a list of finite numbers (dB)")
    for k in ev.kinds or []:
        if k not in list_noise_kinds():
            raise ConfigError(f"eval.kinds contains {k!r}; allowed: {', '.join(list_noise_kinds())}")


def check_config(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first bad value and what is allowed."""
    check_values(cfg)
    from drsn_fd.models import model_entry, registry  # last: the registry imports torch

    entry = model_entry(cfg.model.name)
    registry.model_sizes(OmegaConf.to_container(cfg.model, resolve=True))
    if int(cfg.data.window) < entry.min_window:
        raise ConfigError(f"data.window={cfg.data.window} is shorter than model {entry.name} takes "
                          f"(at least {entry.min_window} samples)")


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
    check_seeds(cfg)


def check_seeds(cfg: DictConfig) -> None:
    """seed, and seeds.<part> (null or an integer >= 0) for the parts there are."""
    _int(cfg.seed, "seed", 0)
    seeds = cfg.get("seeds")
    seeds = OmegaConf.to_container(seeds) if OmegaConf.is_config(seeds) else seeds
    if seeds is not None and (error := seeds_error(seeds)):
        raise ConfigError(error)
