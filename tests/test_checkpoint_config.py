"""One merge of a checkpoint's config with a command's overrides: evaluate, inspect, predict and export."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
import torch
import yaml
from omegaconf import OmegaConf

from drsn_fd.data.sources import list_sources
from drsn_fd.deploy.export import export_model
from drsn_fd.deploy.predict import predict_files
from drsn_fd.errors import CheckpointError, ConfigError
from drsn_fd.evaluate.checkpoint_config import checkpoint_config
from drsn_fd.models import create_model
from drsn_fd.models.checkpoint import save_checkpoint
from tests.helpers import make_cfg

DATA_YAMLS = files("drsn_fd.configs") / "data"


def packaged(name: str) -> dict:
    """configs/data/<name>.yaml as plain YAML (the oracle: no OmegaConf, no drsn_fd)."""
    path = DATA_YAMLS / f"{name}.yaml"
    return {k: v for k, v in (yaml.safe_load(path.read_text()) or {}).items() if k != "defaults"} if path.is_file() else {}


def config() -> dict:
    return OmegaConf.to_container(make_cfg(), resolve=True)


def test_data_keys_a_newer_package_knows_are_filled_from_the_packaged_configs():
    old = config()
    for key in ("test_loads", "train_fraction", "channel"):
        del old["data"][key]
    old["data"]["stride_eval"] = 128  # never over a value the checkpoint holds
    cfg = checkpoint_config(old)
    base = packaged("_base")
    assert (cfg.data.test_loads, cfg.data.train_fraction, cfg.data.channel) == (
        base["test_loads"], base["train_fraction"], base["channel"])
    assert cfg.data.stride_eval == 128


def test_another_source_brings_its_keys_and_its_name_unless_one_is_given():
    cfg = checkpoint_config(config(), ["data.source=cwru", "data.root=/somewhere"], ("data.",))
    cwru = packaged("cwru")
    assert cfg.data.name == cwru["name"] and cfg.data.url == cwru["url"]
    cfg = checkpoint_config(config(), ["data.source=cwru", "data.root=/somewhere", "data.name=mine"], ("data.",))
    assert cfg.data.name == "mine"


@pytest.mark.parametrize("source", list_sources())
def test_a_key_of_any_registered_source_may_be_overridden(source):
    base = config()
    new = sorted(packaged(source).keys() - base["data"].keys())
    cfg = checkpoint_config(base, [f"data.{k}=null" for k in new], ("data.",))
    assert all(k in cfg.data and cfg.data[k] is None for k in new)


@pytest.mark.parametrize(("overrides", "prefixes", "error", "needle"), [
    (["noise.kind=pink"], ("data.", "eval."), ConfigError, "only data.* and eval.* overrides"),
    (["trainer.epochs=3"], ("data.", "noise.", "eval."), ConfigError, "only data.*, noise.* and eval.* overrides"),
    (["data.window=256"], (), ConfigError, "takes no config overrides"),
    (["data.windw=256"], ("data.",), ConfigError, "'data.windw=256'"),
    (["noise.train_snr=3"], ("noise.",), ConfigError, "noise.train_snr only shapes training"),
    (["data.source=nowhere"], ("data.",), ConfigError, "registered sources"),
    (["data.window=0"], ("data.",), ConfigError, "data.window"),  # checked as drsn-train checks
])
def test_refused_in_one_line_naming_the_override(overrides, prefixes, error, needle):
    with pytest.raises(error) as e:
        checkpoint_config(config(), overrides, prefixes)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_a_config_without_data_is_refused_naming_the_file():
    with pytest.raises(CheckpointError, match="x.pt: its config has no data section"):
        checkpoint_config({"model": {"name": "resnet"}}, where="x.pt")


def test_predict_and_export_read_the_filled_config(tmp_path):
    import numpy as np

    cfg = OmegaConf.to_container(make_cfg("model=resnet"), resolve=True)
    del cfg["data"]["channel"]  # from a package that did not record it: the packaged default
    torch.manual_seed(0)
    net = create_model("resnet", 10, units_per_stage=1).eval()
    ckpt = tmp_path / "best.pt"
    save_checkpoint(ckpt, {"model": "resnet", "model_cfg": cfg["model"], "classes": [str(i) for i in range(10)],
                           "fs": 12000, "window": 512, "normalize": "zscore", "config": cfg,
                           "model_state": net.state_dict()})
    np.save(tmp_path / "signal.npy", np.random.default_rng(0).standard_normal(4096))
    res = predict_files(ckpt, tmp_path / "signal.npy", input_fs=12000)
    assert res["channel"] == packaged("_base")["channel"] and res["stride"] == cfg["data"]["stride_eval"]
    out = export_model(ckpt, "torchscript", tmp_path / "m.ts")
    meta = json.loads(out.with_name(out.name + ".json").read_text())
    assert (meta["channel"], meta["stride"]) == (res["channel"], res["stride"])
