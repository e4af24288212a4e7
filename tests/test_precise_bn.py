"""trainer.precise_bn: validation and test score a copy whose BatchNorm statistics are re-estimated on the
epoch's training windows; training is unchanged, and the checkpoints reproduce what was scored."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import torch
from omegaconf import OmegaConf

import drsn_fd.train.loop as loop
from drsn_fd.data.pipeline import NoisyWindows
from drsn_fd.data.pipeline import test_snr as snr_of_test
from drsn_fd.data.windows import build_windows
from drsn_fd.errors import ConfigError
from drsn_fd.evaluate.predict import predict
from drsn_fd.io import write_json
from drsn_fd.models.batchnorm import batchnorm_layers
from drsn_fd.models.checkpoint import load_checkpoint, load_model
from drsn_fd.train.loop import run
from tests.helpers import (
    assert_refused,
    bn_input_stats,
    cli_env,
    command,
    drsn_train,
    make_cfg,
    metrics,
)
from tests.test_train import crash_at_epoch

# drsn_cw: a BatchNorm inside the attention branch too. Three epochs, so that a resume lands mid-run.
ARGS = ["model=drsn_cw", "trainer.epochs=3", "logger.enabled=false"]
BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The same run with precise BN off and on."""
    tmp = tmp_path_factory.mktemp("precise")
    threads = torch.get_num_threads()
    try:
        return {on: run(make_cfg(*ARGS, f"trainer.precise_bn={on}"), tmp / on) for on in ("false", "true")}
    finally:
        torch.set_num_threads(threads)  # TINY sets trainer.threads=1


def _ckpt(record: dict, name: str) -> dict:
    return load_checkpoint(f"{record['run_dir']}/checkpoints/{name}.pt")


def _is_bn_buffer(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in BN_BUFFERS


def test_training_is_the_same_only_what_is_scored_differs(runs):
    off, on = runs["false"], runs["true"]
    assert (off["precise_bn"], on["precise_bn"]) == (False, True)
    for key in ("train_loss", "train_acc", "lr"):
        assert [h[key] for h in on["history"]] == [h[key] for h in off["history"]], key
    assert all(a["val_loss"] != b["val_loss"] for a, b in zip(on["history"], off["history"], strict=True))
    last_on, last_off = _ckpt(on, "last"), _ckpt(off, "last")
    assert last_on["model_state"].keys() == last_off["model_state"].keys()
    for key, value in last_off["model_state"].items():  # the training model's weights and running statistics
        assert torch.equal(last_on["model_state"][key], value), key
    assert last_on["optimizer"]["state"].keys() == last_off["optimizer"]["state"].keys()
    for i, state in last_off["optimizer"]["state"].items():
        assert torch.equal(last_on["optimizer"]["state"][i]["momentum_buffer"], state["momentum_buffer"])
    assert "scored_state" in last_on and "scored_state" not in last_off


def _training_windows(record: dict, epoch: int) -> torch.Tensor:
    """The normalised noisy training windows of `epoch` (1-based), rebuilt from the run's config."""
    cfg = OmegaConf.create(record["config"])
    return NoisyWindows(build_windows(cfg.data), cfg, torch.device("cpu")).train_epoch(epoch - 1)


@pytest.mark.parametrize("which", ["best", "last"])
def test_the_scored_statistics_are_those_of_the_epochs_training_windows(runs, which):
    """best.pt's weights, and last.pt's scored_state, hold BatchNorm statistics equal to each layer's input
    mean and variance over that epoch's training windows (all in one batch here: exact)."""
    on = runs["true"]
    ck = _ckpt(on, which)
    state = ck["model_state"] if which == "best" else ck["scored_state"]
    epoch = ck["epoch"]
    assert epoch == (on["best"]["epoch"] if which == "best" else 3)
    model, _ = load_model(f"{on['run_dir']}/checkpoints/best.pt")
    model.load_state_dict(state)
    x = _training_windows(on, epoch)
    assert len(x) <= on["config"]["trainer"]["eval_batch_size"]
    for m, (mean, var) in zip(batchnorm_layers(model), bn_input_stats(model, x), strict=True):
        torch.testing.assert_close(m.running_mean.double(), mean, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(m.running_var.double(), var, rtol=1e-4, atol=1e-6)
    if which == "last":  # the same weights as the training state; only the statistics differ
        train_state = ck["model_state"]
        assert all(torch.equal(v, train_state[k]) for k, v in state.items() if not _is_bn_buffer(k))
        assert any(not torch.equal(v, train_state[k]) for k, v in state.items() if k.endswith("running_mean"))


def test_the_test_scores_the_states_the_checkpoints_hold(runs):
    """best.pt (loaded as drsn-predict loads it), and last.pt's scored_state, give the run's test accuracies."""
    on = runs["true"]
    cfg = OmegaConf.create(on["config"])
    ws = build_windows(cfg.data)
    data = NoisyWindows(ws, cfg, torch.device("cpu"))
    x = data.fixed("test", cfg.noise.kind, snr_of_test(cfg.noise))
    model, _ = load_model(f"{on['run_dir']}/checkpoints/best.pt")
    _, pred = predict(model, x, data.y["test"], 64)
    assert float((pred == ws.splits["test"].y).mean()) == on["test"]["best"]["acc"]
    model.load_state_dict(_ckpt(on, "last")["scored_state"])
    _, pred = predict(model, x, data.y["test"], 64)
    assert float((pred == ws.splits["test"].y).mean()) == on["test"]["last"]["acc"]


@pytest.mark.slow
def test_drsn_evaluate_on_best_pt_reproduces_the_runs_test(runs, tmp_path):
    on = runs["true"]
    p = subprocess.run([command("drsn-evaluate"), f"checkpoint={on['run_dir']}/checkpoints/best.pt",
                        f"out={tmp_path / 'eval'}"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       env=cli_env())
    assert p.returncode == 0, p.stderr[-2000:]
    m = metrics(tmp_path / "eval")
    assert m["test"]["best"]["acc"] == on["test"]["best"]["acc"]
    assert m["test"]["best"]["confusion"] == on["test"]["best"]["confusion"]
    assert m["robustness"] == on["robustness"]


def _timeless(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_a_resume_mid_run_or_before_the_test_scores_as_the_run_never_stopped(runs, tmp_path, monkeypatch):
    on = runs["true"]
    threads = torch.get_num_threads()
    try:
        mid = tmp_path / "mid"
        crash_at_epoch(monkeypatch, make_cfg(*ARGS, "trainer.precise_bn=true"), mid, 1)
        resumed = run(make_cfg(*ARGS, "trainer.precise_bn=true", "trainer.resume=true"), mid)
        assert _timeless(resumed["history"]) == _timeless(on["history"])
        assert resumed["test"] == on["test"] and resumed["robustness"] == on["robustness"]

        # stopped after the last epoch, in the test: the resume trains nothing and scores last.pt's scored_state
        def stop(*args, **kwargs):
            raise KeyboardInterrupt

        late = tmp_path / "late"
        with monkeypatch.context() as mp:
            mp.setattr(loop, "test_parts", stop)
            with pytest.raises(KeyboardInterrupt):
                run(make_cfg(*ARGS, "trainer.precise_bn=true"), late)
        assert load_checkpoint(late / "checkpoints" / "last.pt")["epoch"] == 3
        resumed = run(make_cfg(*ARGS, "trainer.precise_bn=true", "trainer.resume=true"), late)
        assert resumed["test"] == on["test"] and resumed["robustness"] == on["robustness"]
    finally:
        torch.set_num_threads(threads)


def test_a_resume_with_the_other_setting_is_refused(runs, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(runs["false"]["run_dir"], folder)
    write_json(folder / "metrics.json", {**metrics(folder), "status": "interrupted"})
    with pytest.raises(ConfigError, match="trainer.precise_bn=True"):
        run(make_cfg(*ARGS, "trainer.precise_bn=true", "trainer.resume=true"), folder)


def test_a_value_that_is_not_a_switch_is_refused_in_one_line(tmp_path):
    p = drsn_train("experiment=smoke", "device=cpu", "trainer.precise_bn=maybe", f"hydra.run.dir={tmp_path / 'run'}",
                   cwd=tmp_path)
    assert_refused(p, "trainer.precise_bn='maybe'", "true, false")
    assert not (tmp_path / "run" / "metrics.json").exists()
