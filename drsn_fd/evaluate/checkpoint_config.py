"""A checkpoint's training config with a command's overrides: one rule set for every command that reads one.

drsn-evaluate, drsn-inspect, drsn-predict and drsn-export all read the config a checkpoint was
trained with through `checkpoint_config`; each command names the prefixes it lets the user
override (predict and export override nothing):

- an override is `key=value` with a key under one of the command's prefixes;
- keys that only shape training (TRAIN_ONLY) are refused: the checkpoint fixed them;
- data keys a newer package knows are filled in from the packaged configs: `configs/data/_base.yaml`
  and the YAML of the config's `data.source` (a registered source), never over a value the
  checkpoint holds; an override may set any data key that one of those YAMLs has;
- an override of `data.source` brings that source's keys too, and its `name` unless `data.name`
  is given;
- `data=NAME` (drsn-evaluate, `with_data`) selects another data config as drsn-train does: the keys
  configs/data/NAME.yaml defines replace the checkpoint's, but `fs` and `window` (what the model reads);
- the result is checked as drsn-train checks its config (`validate.check_config`);
- commands that read data (evaluate, inspect) then call `stored_input_here`: the folder or file the
  checkpoint's source read (data.root, data.manifest) is the author's; where the user gives none
  and it does not exist here, the error names it and the override to give.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from importlib.resources import files
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from drsn_fd.data.sources import input_key, list_sources, source_reader
from drsn_fd.errors import CheckpointError, ConfigError
from drsn_fd.validate import check_config

TRAIN_ONLY = ("noise.train_snr", "noise.fixed_train")


def data_yaml(name: str) -> dict:
    """The keys of configs/data/<name>.yaml (without its defaults list); {} if there is none."""
    path = files("drsn_fd.configs") / "data" / f"{name}.yaml"
    d = OmegaConf.to_container(OmegaConf.create(path.read_text())) if path.is_file() else {}
    return {k: v for k, v in d.items() if k != "defaults"}


def packaged_data(source: object) -> dict:
    """The packaged keys of a data config of a registered `source`: _base.yaml, then its own YAML."""
    source_reader(source)  # ConfigError naming the registered sources
    return {**data_yaml("_base"), **data_yaml(str(source))}


def fill_data(data: DictConfig) -> dict:
    """Add the packaged keys `data` lacks (for its data.source); return the packaged keys."""
    packaged = packaged_data(data.get("source"))
    with open_dict(data):
        for k, v in packaged.items():
            if k not in data:
                data[k] = v
    return packaged


KEPT = ("fs", "window")  # data=NAME keeps the checkpoint's: the model was trained on windows of this rate and length


def data_configs() -> list[str]:
    """The names `data=NAME` takes: configs/data/<name>.yaml, but _base."""
    folder = files("drsn_fd.configs") / "data"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml") and not p.name.startswith("_"))


def with_data(config: dict, name: str, where: object = "the checkpoint") -> dict:
    """The checkpoint's config with `data=NAME`: the keys of configs/data/NAME.yaml replace its own,
    but KEPT; the other data keys (split, strides, loads, channel, ...) stay the checkpoint's."""
    if name not in data_configs():
        raise ConfigError(f"data={name!r} is unknown; data configs: {', '.join(data_configs())}")
    if not isinstance(config, dict) or not isinstance(config.get("data"), dict):
        raise CheckpointError(f"{where}: its config has no data section")
    data = {**config["data"], **{k: v for k, v in data_yaml(name).items() if k not in KEPT}}
    return {**config, "data": data}


def _allowed(prefixes: Sequence[str]) -> str:
    names = [f"{p}*" for p in prefixes]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def checkpoint_config(config: dict, overrides: Sequence[str] = (), overridable: Sequence[str] = (),
                      where: object = "the checkpoint") -> DictConfig:
    """The config of the checkpoint `where`, filled in, with the overrides under `overridable` prefixes; checked."""
    if not isinstance(config, dict) or not isinstance(config.get("data"), dict):
        raise CheckpointError(f"{where}: its config has no data section")
    cfg = OmegaConf.create(config)
    fill_data(cfg.data)
    known = {k for s in ("_base", *list_sources()) for k in data_yaml(s)}
    OmegaConf.set_struct(cfg, True)
    for item in overrides:
        key, sep, _ = item.partition("=")
        if not sep or not overridable or not key.startswith(tuple(overridable)):
            only = f"only {_allowed(overridable)} overrides (key=value) are allowed" if overridable else \
                "this command takes no config overrides"
            raise ConfigError(f"{item!r}: {only}")
        if key in TRAIN_ONLY:
            raise ConfigError(f"{item!r}: {key} only shapes training; the checkpoint was trained with "
                              f"{key}={OmegaConf.select(cfg, key)}")
        try:
            with open_dict(cfg.data) if key.removeprefix("data.").split(".")[0] in known else nullcontext():
                cfg.merge_with_dotlist([item])
        except OmegaConfBaseException as e:
            raise ConfigError(f"{item!r}: {str(e).splitlines()[0]}") from None
    if cfg.data.source != config["data"].get("source"):
        packaged = fill_data(cfg.data)
        if "name" in packaged and not any(o.startswith("data.name=") for o in overrides):
            cfg.data.name = packaged["name"]
    check_config(cfg)
    return cfg


def stored_input_here(cfg: DictConfig, config: dict, overrides: Sequence[str], where: object = "the checkpoint") -> None:
    """Refuse reading data at a path the checkpoint stored (not one the user gave) that does not exist
    on this machine, naming the stored path and the override to give."""
    key = input_key(cfg.data.source)
    value = cfg.data.get(key) if key else None
    if value is None or any(o.startswith(f"data.{key}=") for o in overrides):
        return
    if str(value) == str((config.get("data") or {}).get(key)) and not Path(str(value)).expanduser().exists():
        raise ConfigError(f"{where}: the checkpoint was trained on data.{key}={value}, which is not on this "
                          f"machine; give data.{key}=<your copy>")
