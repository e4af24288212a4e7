"""Every shipped experiment and sweep config composes and passes the config checks; every experiment
runs one tiny epoch (as lightning-hydra-template tests its experiment configs).

The configs are found in the installed config tree, so a new experiment or sweep is picked up by
itself. The CWRU experiments do not select real data themselves (a sweep that needs CWRU adds
data=cwru over it), so each runs on the simulated set, which has every load the cross-load
experiments name. One that selects a real data set (the HIT-SM tasks: data=hit) gets its root from
DRSN_HIT_ROOT or DRSN_CWRU_ROOT (the hit_root and cwru_root fixtures), or is skipped.
"""

from __future__ import annotations

from importlib.resources import files

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from drsn_fd.train.loop import run
from drsn_fd.validate import check_config
from tests.helpers import TINY, make_cfg, metrics


def _names(group: str) -> list[str]:
    folder = files("drsn_fd.configs") / group
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml") and not p.name.startswith("_"))


EXPERIMENTS, SWEEPS = _names("experiment"), _names("sweep")


def _own_settings(group: str, name: str) -> dict[str, object]:
    """The dotted keys and values a config of `group` sets itself (its defaults list left out)."""
    own = OmegaConf.create((files("drsn_fd.configs") / group / f"{name}.yaml").read_text())
    own.pop("defaults", None)
    own.pop("hydra", None)
    flat: dict[str, object] = {}

    def walk(node, prefix: str) -> None:
        for key, value in node.items():
            if OmegaConf.is_dict(value):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value

    walk(own, "")
    return flat


def _root_overrides(cfg, request) -> list[str]:
    """data.root for a config on real data: DRSN_CWRU_ROOT, or a skip with the reason."""
    if cfg.data.source == "simulated":
        return []
    if cfg.data.source not in ("cwru", "hit"):
        pytest.skip(f"data.source={cfg.data.source}: no test data for it")
    return [f"data.root={request.getfixturevalue(cfg.data.source + '_root')}"]


def test_the_config_tree_has_experiments_and_sweeps():
    assert "smoke" in EXPERIMENTS and {"quick", "paper"} <= set(SWEEPS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_and_runs_one_tiny_epoch(name, tmp_path, request):
    cfg = make_cfg(f"experiment={name}", tiny=False)
    for key, value in _own_settings("experiment", name).items():
        assert OmegaConf.select(cfg, key) == value, key
    tiny = [*TINY, f"experiment={name}", "trainer.epochs=1", "logger.enabled=false"]
    cfg = make_cfg(*tiny, *_root_overrides(cfg, request), tiny=False)
    check_config(cfg)
    rec = run(cfg, tmp_path)
    assert rec == metrics(tmp_path) and rec["status"] == "completed" and len(rec["history"]) == 1
    assert 0.0 <= rec["test"]["best"]["acc"] <= 1.0
    ours = {o.split("=", 1)[0] for o in tiny}
    for key, value in _own_settings("experiment", name).items():  # what the experiment sets is what ran
        if key not in ours:
            assert OmegaConf.select(OmegaConf.create(rec["config"]), key) == value, key


def _sweep_values(params) -> list[tuple[str, str]]:
    """Every (key, value) the sweeper's params name, ranges and lists expanded as Hydra does."""
    parser = OverridesParser.create()
    out = []
    for key, spec in params.items():
        override = parser.parse_override(f"{key}={spec}")
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [str(spec)]
        out += [(key, v) for v in values]
    return out


@pytest.mark.parametrize("name", SWEEPS)
def test_every_sweep_composes_as_a_multirun_and_each_value_it_sweeps_passes_the_checks(name, tmp_path):
    from hydra import compose, initialize_config_module
    from hydra.types import RunMode

    with initialize_config_module(config_module="drsn_fd.configs", version_base="1.3"):
        full = compose(config_name="train", overrides=[f"sweep={name}"], return_hydra_config=True)
    assert full.hydra.mode == RunMode.MULTIRUN  # a sweep needs no -m
    params = full.hydra.sweeper.params
    assert params, f"sweep={name} sweeps nothing"
    root = [] if make_cfg(f"sweep={name}", tiny=False).data.source == "simulated" else [f"data.root={tmp_path}"]
    for key, value in _sweep_values(params):
        check_config(make_cfg(f"sweep={name}", f"{key}={value}", *root, tiny=False))


@pytest.mark.parametrize("name", SWEEPS)
def test_a_sweep_runs_every_model_of_a_seed_together(name):
    """Jobs in the order Hydra's sweeper launches them: the models of one seed one after another, so
    a sweep stopped part-way (and continued in another session) leaves whole pairs behind."""
    from hydra import compose, initialize_config_module
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    with initialize_config_module(config_module="drsn_fd.configs", version_base="1.3"):
        full = compose(config_name="train", overrides=[f"sweep={name}"], return_hydra_config=True)
    params = full.hydra.sweeper.params
    if not {"seed", "model"} <= set(params):
        pytest.skip(f"sweep={name} does not sweep both seed and model")
    parser = OverridesParser.create()
    overrides = parser.parse_overrides([f"{k}={v}" for k, v in params.items()])
    jobs = [dict(o.split("=", 1) for o in job) for job in BasicSweeper.split_arguments(overrides, None)[0]]
    models = len(set(j["model"] for j in jobs))
    for start in range(0, len(jobs), models):
        block = jobs[start:start + models]
        assert len({j["model"] for j in block}) == models, (name, block)
        assert len({tuple(sorted((k, v) for k, v in j.items() if k != "model")) for j in block}) == 1, (name, block)
