"""Training runs through run() and through the real CLI, on tiny configs."""

import json
import subprocess

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from drsn_fd.data.pipeline import NoisyWindows
from drsn_fd.models.checkpoint import load_checkpoint
from drsn_fd.train.loop import run
from tests.helpers import command


def crash_at_epoch(monkeypatch, cfg, folder, epoch: int) -> None:
    """Run `cfg` in `folder` and crash (KeyboardInterrupt) as epoch `epoch` (0-based) begins."""
    orig = NoisyWindows.train_epoch

    def crash(self, e):
        if e == epoch:
            raise KeyboardInterrupt
        return orig(self, e)

    with monkeypatch.context() as mp:
        mp.setattr(NoisyWindows, "train_epoch", crash)
        with pytest.raises(KeyboardInterrupt):
            run(cfg, folder)


def test_run_writes_metrics_checkpoints_and_events(tmp_path, cfg_factory):
    res = run(cfg_factory("model=drsn_cw"), tmp_path)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["status"] == "completed" and res["status"] == "completed"
    assert m["protocol"] == "matched" and m["model"] == "drsn_cw"
    assert len(m["history"]) == 2 and {"train_loss", "val_acc", "lr", "seconds"} <= set(m["history"][0])
    for which in ("best", "last"):
        t = m["test"][which]
        assert 0 <= t["acc"] <= 1 and len(t["confusion"]) == 10 and len(t["classes"]) == 10
        assert sum(map(sum, t["confusion"])) == m["data"]["windows"]["test"]
    assert [(p["kind"], p["snr"]) for p in m["robustness"]] == [("clean", None), ("gaussian", -4.0), ("gaussian", 0.0)]
    assert (tmp_path / "robustness.csv").read_text().startswith("kind,snr,acc,macro_f1")
    ck = load_checkpoint(tmp_path / "checkpoints" / "best.pt")
    assert ck["classes"] == m["data"]["classes"] and ck["window"] == 512 and ck["fs"] == 12000
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["epoch"] == 2
    ev = EventAccumulator(str(tmp_path / "tb"), size_guidance={"histograms": 0, "images": 0}).Reload()
    tags = ev.Tags()
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "lr", "test/acc"} <= set(tags["scalars"])
    assert len(ev.Scalars("val/acc")) == 2
    assert "test/confusion" in tags["images"]
    assert any(t.startswith("thresholds/unit01_alpha") for t in tags["histograms"])
    assert (tmp_path / ".hydra" / "config.yaml").exists()


def test_resume_equals_uninterrupted(tmp_path, cfg_factory, monkeypatch):
    full = run(cfg_factory("trainer.epochs=3", "model=drsn_cs"), tmp_path / "full")
    part = tmp_path / "part"
    # stop after epoch 1 of 3: train 1 epoch with the 3-epoch schedule, then resume
    crash_at_epoch(monkeypatch, cfg_factory("trainer.epochs=3", "model=drsn_cs"), part, 1)
    assert json.loads((part / "metrics.json").read_text())["status"] == "failed"
    assert load_checkpoint(part / "checkpoints" / "last.pt")["epoch"] == 1
    resumed = run(cfg_factory("trainer.epochs=3", "model=drsn_cs", "trainer.resume=true"), part)
    assert resumed["test"]["best"]["acc"] == full["test"]["best"]["acc"]
    assert resumed["test"]["last"]["confusion"] == full["test"]["last"]["confusion"]
    assert [h["val_loss"] for h in resumed["history"]] == [h["val_loss"] for h in full["history"]]
    assert resumed["robustness"] == full["robustness"]


def test_same_seed_same_metrics_and_eval_batch_does_not_matter(tmp_path, cfg_factory):
    a = run(cfg_factory("model=resnet"), tmp_path / "a")
    b = run(cfg_factory("model=resnet", "trainer.eval_batch_size=7"), tmp_path / "b")
    for which in ("best", "last"):  # the same predictions; the summed loss differs only by rounding
        loss_a, loss_b = a["test"][which].pop("loss"), b["test"][which].pop("loss")
        assert loss_a == pytest.approx(loss_b, rel=1e-5)
    assert a["test"] == b["test"]
    assert a["robustness"] == b["robustness"]
    c = run(cfg_factory("model=resnet", "seed=1"), tmp_path / "c")
    assert c["history"] != a["history"]


@pytest.mark.parametrize("overrides,protocol,train_snr,test_point", [
    ([], "matched", 0, ("gaussian", 0.0)),
    (["noise.train_snr=null"], "clean-to-noisy", None, ("gaussian", 0.0)),
    (["noise.train_snr=[-6,6]"], "mixed", [-6, 6], ("gaussian", 0.0)),
    (["noise=none"], "clean", None, ("clean", None)),
])
def test_protocols_end_to_end(tmp_path, cfg_factory, overrides, protocol, train_snr, test_point):
    """Each protocol records its training SNR, and its test split is the robustness point it names:
    the same noisy (or clean) windows, so the same accuracy."""
    m = run(cfg_factory("model=convnet", "trainer.epochs=1", *overrides), tmp_path)
    assert m["protocol"] == protocol and m["status"] == "completed"
    assert m["noise"]["train_snr"] == train_snr
    curve = {(p["kind"], p["snr"]): p["acc"] for p in m["robustness"]}
    assert curve[test_point] == m["test"]["best"]["acc"]


def test_completed_run_is_never_overwritten(tmp_path, cfg_factory):
    from drsn_fd.errors import ConfigError

    run(cfg_factory("trainer.epochs=1"), tmp_path)
    before = (tmp_path / "metrics.json").read_bytes()
    with pytest.raises(ConfigError, match="already holds a completed run"):
        run(cfg_factory("trainer.epochs=1"), tmp_path)
    assert (tmp_path / "metrics.json").read_bytes() == before


TINY_CLI = ["experiment=smoke", "device=cpu"]


@pytest.mark.slow
def test_cli_run_from_another_folder(tmp_path):
    out = tmp_path / "run"
    p = subprocess.run([command("drsn-train"), *TINY_CLI, f"hydra.run.dir={out}"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "test accuracy" in p.stdout
    assert json.loads((out / "metrics.json").read_text())["status"] == "completed"
    assert (out / "checkpoints" / "best.pt").exists() and list((out / "tb").glob("events.*"))


@pytest.mark.slow
@pytest.mark.cwru
def test_cli_run_on_real_cwru(tmp_path, cwru_root):
    out = tmp_path / "run"
    p = subprocess.run([command("drsn-train"), "data=cwru", f"data.root={cwru_root}", *TINY_CLI,
                        f"hydra.run.dir={out}"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["data"]["name"] == "CWRU" and len(m["data"]["classes"]) == 10


@pytest.mark.slow
def test_cli_multirun_two_jobs_named_by_overrides(tmp_path):
    p = subprocess.run([command("drsn-train"), "-m", *TINY_CLI, "model=resnet,drsn_cw",
                        f"hydra.sweep.dir={tmp_path / 'sweep'}"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    runs = sorted(str(m.parent.relative_to(tmp_path / "sweep")) for m in (tmp_path / "sweep").rglob("metrics.json"))
    assert runs == ["experiment=smoke,model=drsn_cw/seed=0", "experiment=smoke,model=resnet/seed=0"]


@pytest.mark.slow
def test_resume_finds_the_unfinished_run_of_the_same_command(tmp_path, cfg_factory, monkeypatch):
    """Re-running the same command with trainer.resume=true continues the interrupted run."""
    args = ["experiment=smoke", "device=cpu", "trainer.epochs=3"]
    first = tmp_path / "outputs" / "2026-01-01" / "10-00-00"
    crash_at_epoch(monkeypatch, cfg_factory(*args, tiny=False), first, 2)
    other = tmp_path / "outputs" / "2026-01-01" / "09-00-00"  # same layout, another config: not taken
    run(cfg_factory(*args, "seed=5", "trainer.epochs=1", tiny=False), other)
    p = subprocess.run([command("drsn-train"), *args, "trainer.resume=true",
                        f"hydra.run.dir={tmp_path / 'outputs' / '2026-01-01' / '11-00-00'}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    m = json.loads((first / "metrics.json").read_text())
    assert m["status"] == "completed" and [h["epoch"] for h in m["history"]] == [1, 2, 3]
    assert json.loads((other / "metrics.json").read_text())["history"][-1]["epoch"] == 1
    assert not (tmp_path / "outputs" / "2026-01-01" / "11-00-00" / "metrics.json").exists()


def test_resume_continues_exactly_the_folder_the_user_named(tmp_path, cfg_factory, monkeypatch):
    """Outside Hydra's outputs/<date>/<time> layout, resume never takes a sibling run."""
    from drsn_fd.train.run_folder import find_resumable

    cfg = cfg_factory("trainer.epochs=3", "trainer.resume=true")
    sibling = tmp_path / "runs" / "exp0"
    crash_at_epoch(monkeypatch, cfg_factory("trainer.epochs=3"), sibling, 1)
    named = tmp_path / "runs" / "exp1"
    assert find_resumable(cfg, named) == named
    dated = tmp_path / "outputs" / "2026-01-02" / "08-00-00"
    run_dir = tmp_path / "outputs" / "2026-01-01" / "07-00-00"
    run_dir.parent.mkdir(parents=True)
    sibling.rename(run_dir)
    assert find_resumable(cfg, dated) == run_dir


def test_best_checkpoint_is_chosen_on_val_accuracy_then_val_loss():
    from drsn_fd.train.loop import improves

    best = {"epoch": 6, "val_acc": 1.0, "val_loss": 0.05}
    assert improves({"val_acc": 1.0, "val_loss": 0.01}, best)  # a tie at 100 %: the lower loss wins
    assert not improves({"val_acc": 1.0, "val_loss": 0.05}, best)  # an exact tie keeps the earlier epoch
    assert not improves({"val_acc": 0.99, "val_loss": 0.001}, best)  # accuracy first
    assert improves({"val_acc": 0.5, "val_loss": 9.0}, None)  # the first epoch


def test_selection_is_derived_from_the_history():
    from drsn_fd.train.loop import select

    rows = [{"epoch": 1, "val_acc": 0.9, "val_loss": 0.3}, {"epoch": 2, "val_acc": 1.0, "val_loss": 0.2},
            {"epoch": 3, "val_acc": 1.0, "val_loss": 0.1}, {"epoch": 4, "val_acc": 1.0, "val_loss": 0.1}]
    assert select(rows) == {"epoch": 3, "val_acc": 1.0, "val_loss": 0.1}
    assert select(rows[:2])["epoch"] == 2 and select([]) is None


def test_hparams_name_what_a_comparison_needs_swept_keys_first(tmp_path, cfg_factory):
    from hydra.core.hydra_config import HydraConfig
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    from drsn_fd.evaluate.tensorboard import comparison_hparams, swept
    from tests.helpers import TINY

    m = run(cfg_factory("model=resnet", "trainer.epochs=1"), tmp_path)
    # in tb/ itself, beside the curves: TensorBoard names the run by its folder (under a sweep
    # <overrides>/seed=N/tb), not by a time-stamped subfolder
    assert [p.name for p in (tmp_path / "tb").iterdir() if p.is_dir()] == []
    ev = EventAccumulator(str(tmp_path / "tb")).Reload()
    data = {tag: HParamsPluginData.FromString(c) for tag, c in ev.PluginTagToContent("hparams").items()}
    # no experiment of its own: TensorBoard builds one from all runs and lists first the keys that differ
    # (scripts/hparams_in_browser.py shows it in a browser for a 2 x 2 sweep)
    assert "_hparams_/experiment" not in data
    hp = data["_hparams_/session_start_info"].session_start_info.hparams
    assert set(hp) == {"model", "noise.kind", "noise.snr", "noise.train_snr", "protocol", "split_protocol", "seed",
                       "trainer.epochs", "data"}
    assert hp["model"].string_value == "resnet" and hp["noise.kind"].string_value == "gaussian"
    assert hp["noise.snr"].number_value == 0 and hp["trainer.epochs"].number_value == 1
    assert hp["protocol"].string_value == "matched" and hp["split_protocol"].string_value == m["data"]["split_protocol"]
    assert {"hparam/test_acc", "hparam/test_acc_last", "hparam/test_macro_f1", "hparam/best_val_acc"} <= set(ev.Tags()["scalars"])
    assert ev.Scalars("hparam/test_acc")[0].value == pytest.approx(m["test"]["best"]["acc"])
    assert ev.Scalars("hparam/best_val_acc")[0].value == pytest.approx(m["best"]["val_acc"])

    # Under Hydra: the job's overrides come first, less those that do not name its folder (seed, device).
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module="drsn_fd.configs", version_base="1.3"):
        hcfg = compose(config_name="train", overrides=[*TINY, "optim=adam", "optim.lr=0.01", "seed=3"],
                       return_hydra_config=True)
    assert swept() == []
    HydraConfig.instance().set_config(hcfg)
    try:
        keys = swept()
    finally:
        HydraConfig.instance().cfg = None
    assert ("optim.lr", "0.01") in keys and ("optim", "adam") in keys and "seed" not in dict(keys)
    hp = comparison_hparams(hcfg, m, [("optim", "adam"), ("optim.lr", "0.01"), ("noise.snr", "0")])
    assert list(hp)[:4] == ["optim", "optim.lr", "noise.snr", "model"]
    assert hp["optim"] == "adam" and hp["optim.lr"] == 0.01 and hp["noise.snr"] == 0.0 and hp["seed"] == 3
