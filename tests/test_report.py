"""drsn-report: groups, paired statistics, failed runs, figures; checked against values computed here."""

from __future__ import annotations

import itertools
import json
import math
import os
import statistics
import subprocess
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from drsn_fd.errors import DrsnError
from drsn_fd.evaluate.report import make_report
from tests.helpers import command

CLASSES = ["normal", "inner", "outer"]

# Test accuracy (test.best.acc) by (model, protocol, training SNR, test SNR): one value per seed,
# seeds 0, 1, 2, ... in order. drsn_cw at -4 dB has a fourth run (seed 9) with no resnet partner.
ACC = {
    ("resnet", "matched", -4, -4): [0.80, 0.84, 0.78],
    ("drsn_cw", "matched", -4, -4): [0.83, 0.86, 0.78],
    ("drsn_cs", "matched", -4, -4): [0.79, 0.85, 0.81],
    ("drsn_big", "matched", -4, -4): [0.82, 0.88],  # any model named drsn* is compared too
    ("resnet", "matched", 0, 0): [0.85, 0.87, 0.86, 0.84],
    ("drsn_cw", "matched", 0, 0): [0.86, 0.90, 0.91, 0.94],
    ("drsn_cs", "matched", 0, 0): [0.85, 0.86, 0.88, 0.91],
    ("wdcnn", "matched", 0, 0): [0.93, 0.94, 0.96, 0.97],  # not a DRSN: in the groups, not in pairs
    ("resnet", "mixed", (-5, 5), 0): [0.70, 0.74],
    ("drsn_cw", "mixed", (-5, 5), 0): [0.75, 0.73],
    ("resnet", "clean-to-noisy", None, 0): [0.60, 0.64],
    ("drsn_cw", "clean-to-noisy", None, 0): [0.61, 0.69],
}
EXTRA = ("drsn_cw", "matched", -4, -4, 9, 0.90)  # model, protocol, train, test, seed, acc
T975 = {1: 12.706204736174696, 2: 4.302652729911275, 3: 3.182446305284263}  # t(0.975, df) tables


def f1_of(acc: float, seed: int) -> float:
    """A macro-F1 that differs from the accuracy, per seed."""
    return round(acc - 0.02 + 0.005 * seed, 6)


def metrics(model, protocol, train, test, seed, acc, kind="gaussian") -> dict:
    """A metrics.json as drsn_fd/train/loop.py writes it (the keys the report reads, and more)."""
    train_snr = list(train) if isinstance(train, tuple) else train
    n = 100
    confusion = [[30, 4, 0], [2, 31, 0], [0, 0, 33]]
    best = {"acc": acc, "macro_f1": f1_of(acc, seed), "balanced_acc": acc, "n": n, "classes": CLASSES,
            "confusion": confusion, "loss": 0.5}
    curve = [{"kind": "clean", "snr": None, "acc": 0.9, "macro_f1": 0.9}]
    curve += [{"kind": kind, "snr": float(s), "acc": acc + 0.01 * s, "macro_f1": 0.5} for s in (-4, 0)]
    return {
        "status": "completed", "run_dir": "elsewhere", "protocol": protocol, "model": model, "seed": seed,
        "config": {"trainer": {"epochs": 3}, "seed": seed}, "params": 1000, "device": "cpu",
        "data": {"name": "simulated", "source": "simulated", "classes": CLASSES, "fs": 12000, "window": 512,
                 "split": [0.6, 0.2, 0.2], "windows": {"train": 10, "val": 5, "test": n}},
        "noise": {"kind": kind, "snr": test, "train_snr": train_snr, "fixed_train": False},
        "history": [{"epoch": 1}], "best": {"epoch": 1, "val_acc": 0.5},
        "test": {"best": best, "last": {**best, "acc": 0.1}}, "robustness": curve,
        "timings": {"total_s": 1.0},
    }


def write_run(root: Path, m: dict) -> Path:
    folder = root / f"model={m['model']},protocol={m['protocol']},noise.snr={m['noise']['snr']}" / f"seed={m['seed']}"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(m))
    return folder


@pytest.fixture
def sweep(tmp_path) -> Path:
    root = tmp_path / "sweep"
    for (model, protocol, train, test), accs in ACC.items():
        for seed, acc in enumerate(accs):
            write_run(root / "a", metrics(model, protocol, train, test, seed, acc))
    model, protocol, train, test, seed, acc = EXTRA
    write_run(root / "b", metrics(model, protocol, train, test, seed, acc))  # a nested second sweep
    return root


def label(snr) -> str:
    if snr is None:
        return "clean"
    return f"[{snr[0]},{snr[1]}]" if isinstance(snr, tuple) else str(snr)


def exact_bootstrap(d: list[float], q: float) -> float:
    """The q-quantile of the exact bootstrap distribution of the mean (all n^n resamples).

    Also checks that the jump of the distribution at that value is well away from q, so a
    Monte-Carlo bootstrap of 9999 resamples lands on the same value.
    """
    n = len(d)
    counts = Counter(round(sum(t) / n, 12) for t in itertools.product(d, repeat=n))
    cdf = 0.0
    for v in sorted(counts):
        below, cdf = cdf, cdf + counts[v] / n ** n
        if cdf >= q:
            assert below < q - 0.004 and cdf > q + 0.004, "test data too close to a jump"
            return v
    raise AssertionError


def scipy_bootstrap(d: list[float]) -> tuple[float, float]:
    """scipy.stats.bootstrap, percentile method, 9999 resamples, seed 0 (as results.md says)."""
    import inspect

    import numpy as np
    from scipy import stats

    kw = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    res = stats.bootstrap((np.asarray(d),), np.mean, confidence_level=0.95, n_resamples=9999,
                          method="percentile", **{kw: np.random.default_rng(0)})
    return res.confidence_interval.low, res.confidence_interval.high


def test_groups_and_pairs_equal_values_computed_independently(sweep, tmp_path):
    out = tmp_path / "report"
    text = make_report([sweep], out)

    groups = pd.read_csv(out / "results.csv", dtype={"train_snr": str, "test_snr": str})
    expected = {k: list(v) for k, v in ACC.items()}
    expected[EXTRA[:4]] = [*expected[EXTRA[:4]], EXTRA[5]]
    seeds = {k: list(range(len(v))) for k, v in ACC.items()}
    seeds[EXTRA[:4]] = [*seeds[EXTRA[:4]], EXTRA[4]]
    assert len(groups) == len(expected) == 12
    for (model, protocol, train, test), accs in expected.items():
        row = groups[(groups["model"] == model) & (groups["protocol"] == protocol)
                     & (groups["train_snr"] == label(train)) & (groups["test_snr"] == label(test))]
        assert len(row) == 1, (model, protocol, train, test)
        row = row.iloc[0]
        f1s = [f1_of(a, s) for a, s in zip(accs, seeds[(model, protocol, train, test)], strict=True)]
        assert row["n"] == len(accs) and row["noise"] == "gaussian" and row["data"] == "simulated, within-record (time split)"
        assert row["acc_mean"] == pytest.approx(statistics.mean(accs), abs=1e-12)
        assert row["acc_std"] == pytest.approx(statistics.stdev(accs), abs=1e-12)  # ddof = 1
        assert row["macro_f1_mean"] == pytest.approx(statistics.mean(f1s), abs=1e-12)
        assert row["macro_f1_std"] == pytest.approx(statistics.stdev(f1s), abs=1e-12)

    paired = pd.read_csv(out / "results_paired.csv", dtype={"train_snr": str, "test_snr": str})
    conditions = {(p, tr, te) for (_, p, tr, te) in ACC}
    rows = 0
    for (protocol, train, test), model in itertools.product(conditions, ["drsn_cw", "drsn_cs", "drsn_big"]):
        if (model, protocol, train, test) not in ACC:
            continue
        rows += 1
        base = ACC[("resnet", protocol, train, test)]
        drsn = ACC[(model, protocol, train, test)]
        d = [a - b for a, b in zip(drsn, base, strict=False)]  # pairs by seed; seed 9 has no partner
        row = paired[(paired["model"] == model) & (paired["protocol"] == protocol)
                     & (paired["train_snr"] == label(train)) & (paired["test_snr"] == label(test))]
        assert len(row) == 1, (model, protocol, train)
        row = row.iloc[0]
        n, mean = len(d), statistics.mean(d)
        half = T975[n - 1] * statistics.stdev(d) / n ** 0.5
        assert row["baseline"] == "resnet" and row["n_pairs"] == n
        assert row["diff_mean"] == pytest.approx(mean, abs=1e-12)
        assert row["t_low"] == pytest.approx(mean - half, abs=1e-9)
        assert row["t_high"] == pytest.approx(mean + half, abs=1e-9)
        assert row["boot_low"] == pytest.approx(exact_bootstrap(d, 0.025), abs=1e-9)
        assert row["boot_high"] == pytest.approx(exact_bootstrap(d, 0.975), abs=1e-9)
        boot = scipy_bootstrap(d)  # and scipy's own percentile bootstrap with the same seed
        assert (row["boot_low"], row["boot_high"]) == pytest.approx(boot, abs=1e-12)
        assert row["drsn_better"] == sum(x > 1e-12 for x in d)
        assert row["baseline_better"] == sum(x < -1e-12 for x in d)
        assert row["ties"] == sum(abs(x) <= 1e-12 for x in d)
    assert len(paired) == rows == 7
    assert set(paired["model"]) == {"drsn_cw", "drsn_cs", "drsn_big"}  # wdcnn is no DRSN

    # the robustness curves averaged over seeds, e.g. wdcnn at test SNR -4 dB
    curves = pd.read_csv(out / "results_robustness.csv", dtype={"train_snr": str})
    point = curves[(curves["model"] == "wdcnn") & (curves["curve_snr"] == -4)].iloc[0]
    assert point["acc_mean"] == pytest.approx(statistics.mean(a - 0.04 for a in ACC[("wdcnn", "matched", 0, 0)]))
    assert point["n"] == 4

    for name in ["results.md", "acc_vs_snr_gaussian.png", "robustness_gaussian.png", "paired_gaussian.png",
                 "confusion_gaussian.png"]:
        assert (out / name).stat().st_size > 0, name
    md = (out / "results.md").read_text()
    assert "t-interval" in md and "bootstrap" in md and "## Failed or unfinished runs" in md
    assert "None: every run completed." in md
    assert "percentile method, seed 0" in md and "9999 resamples" in md
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "results.md").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    assert "drsn_big" in text and str(out) in text and "Paired DRSN" in text
    assert not list(sweep.rglob("results.csv")), "the report went to --out, not into the sweep"


def test_single_pair_has_no_interval(tmp_path):
    root = tmp_path / "sweep"
    write_run(root, metrics("resnet", "matched", -4, -4, 0, 0.8))
    write_run(root, metrics("drsn_cw", "matched", -4, -4, 0, 0.9))
    make_report([root])
    paired = pd.read_csv(root / "results_paired.csv")
    row = paired.iloc[0]
    assert row["n_pairs"] == 1 and row["diff_mean"] == pytest.approx(0.1)
    assert all(pd.isna(row[c]) for c in ["t_low", "t_high", "boot_low", "boot_high"])
    groups = pd.read_csv(root / "results.csv")
    assert list(groups["n"]) == [1, 1] and groups["acc_std"].isna().all()
    assert "—" in (root / "results.md").read_text()


def test_each_drsn_model_is_paired_with_resnet_and_with_se_resnet(tmp_path):
    from drsn_fd.evaluate.collect import collect
    from drsn_fd.evaluate.curves import curve_pairs, curve_table
    from drsn_fd.evaluate.stats import run_table

    accs = {"resnet": [0.80, 0.82, 0.78], "se_resnet": [0.84, 0.80, 0.86], "drsn_cw": [0.86, 0.81, 0.90]}
    root = tmp_path / "sweep"
    for model, values in accs.items():
        for seed, acc in enumerate(values):
            write_run(root, metrics(model, "matched", -4, -4, seed, acc))
    write_run(root, metrics("se_resnet", "matched", -4, -4, 7, 0.5))  # no drsn_cw partner: left out
    text = make_report([root])

    paired = pd.read_csv(root / "results_paired.csv")
    assert list(paired["model"]) == ["drsn_cw", "drsn_cw"] and list(paired["baseline"]) == ["resnet", "se_resnet"]
    for _, row in paired.iterrows():
        d = [a - b for a, b in zip(accs["drsn_cw"], accs[row["baseline"]], strict=True)]
        half = T975[2] * statistics.stdev(d) / 3 ** 0.5
        assert row["n_pairs"] == 3 and row["diff_mean"] == pytest.approx(statistics.mean(d), abs=1e-12)
        assert (row["t_low"], row["t_high"]) == pytest.approx((statistics.mean(d) - half, statistics.mean(d) + half))
        assert (row["drsn_better"], row["baseline_better"]) == (sum(x > 0 for x in d), sum(x < 0 for x in d))
    assert paired["diff_mean"].iloc[0] == pytest.approx(0.17 / 3) and paired["diff_mean"].iloc[1] == pytest.approx(0.07 / 3)

    runs = collect([root])
    curves = curve_pairs(curve_table(runs, run_table(runs)))  # the robustness points pair alike
    for baseline, g in curves.groupby("baseline"):
        assert g["diff_mean"].to_numpy() == pytest.approx([paired.set_index("baseline").loc[baseline, "diff_mean"]] * 2)
    assert set(curves["baseline"]) == {"resnet", "se_resnet"}

    md = (root / "results.md").read_text()
    assert "| drsn_cw      | resnet     |" in md and "| drsn_cw      | se_resnet  |" in md
    assert "DRSN / baseline better / ties" in md and "se_resnet" in text
    groups = pd.read_csv(root / "results.csv")
    assert sorted(groups["model"]) == ["drsn_cw", "resnet", "se_resnet"]
    assert (root / "paired_gaussian.png").stat().st_size > 0


def test_failed_and_half_written_runs_are_listed_and_the_report_goes_on(tmp_path):
    root = tmp_path / "sweep"
    write_run(root, metrics("resnet", "matched", -4, -4, 0, 0.8))
    write_run(root, metrics("drsn_cw", "matched", -4, -4, 0, 0.9))
    failed = root / "model=drsn_cs,noise.snr=-4" / "seed=0"
    failed.mkdir(parents=True)
    (failed / "metrics.json").write_text(json.dumps(
        {"status": "failed", "error": "data.root=/nowhere holds no .mat files", "run_dir": str(failed)}))
    half = root / "model=wdcnn,noise.snr=-4" / "seed=0"
    half.mkdir(parents=True)
    full = json.dumps(metrics("wdcnn", "matched", -4, -4, 0, 0.7))
    (half / "metrics.json").write_text(full[: len(full) // 2])

    text = make_report([root])
    groups = pd.read_csv(root / "results.csv")
    assert sorted(groups["model"]) == ["drsn_cw", "resnet"]
    md = (root / "results.md").read_text()
    section = md.split("## Failed or unfinished runs", 1)[1]
    for folder in ("model=drsn_cs,noise.snr=-4/seed=0", "model=wdcnn,noise.snr=-4/seed=0"):
        assert folder in section and folder in text
    assert "failed" in section and "no .mat files" in section
    assert "unreadable" in section and "not valid JSON" in section
    assert "Failed or unfinished runs: 2" in text


def test_only_unfinished_runs_still_give_a_report(tmp_path):
    root = tmp_path / "sweep"
    run = root / "model=resnet" / "seed=0"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"status": "running", "history": [{"epoch": 1}],
                                                  "config": {"trainer": {"epochs": 5}}}))
    text = make_report([root])
    assert "running" in text and "epoch 1/5" in text
    assert "No completed runs yet" in (root / "results.md").read_text()


def test_nothing_to_report_raises(tmp_path):
    with pytest.raises(DrsnError, match="no metrics.json"):
        make_report([tmp_path])
    with pytest.raises(DrsnError, match="does not exist"):
        make_report([tmp_path / "missing"])


@pytest.mark.slow
def test_cli_on_an_empty_folder_exits_non_zero_with_one_line(tmp_path):
    p = subprocess.run([command("drsn-report"), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("drsn-report: error:") and "no metrics.json" in lines[0]


@pytest.mark.slow
def test_tiny_multirun_reports_itself_and_drsn_report_agrees(tmp_path):
    """2 models x 2 SNRs x 2 seeds through the real CLI; the Hydra callback writes the report."""
    from tests.helpers import TINY

    sweep = tmp_path / "sweep"
    tiny = [o for o in TINY if not o.startswith("noise.snr=")]  # swept here
    p = subprocess.run([command("drsn-train"), "-m", *tiny, "trainer.epochs=1", "model=resnet,drsn_cw",
                        "noise.snr=-4,0", "seed=0,1", f"hydra.sweep.dir={sweep}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    assert len(list(sweep.rglob("metrics.json"))) == 8
    groups = pd.read_csv(sweep / "results.csv")
    assert len(groups) == 4 and list(groups["n"]) == [2, 2, 2, 2]
    assert set(groups["model"]) == {"resnet", "drsn_cw"} and set(groups["train_snr"]) == {-4, 0}
    for name in ["acc_vs_snr_gaussian.png", "robustness_gaussian.png", "paired_gaussian.png",
                 "confusion_gaussian.png"]:
        assert (sweep / name).stat().st_size > 1000, name
    paired = pd.read_csv(sweep / "results_paired.csv")
    assert list(paired["n_pairs"]) == [2, 2] and set(paired["model"]) == {"drsn_cw"}

    out = tmp_path / "again"
    r = subprocess.run([command("drsn-report"), str(sweep), "--out", str(out)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "8 runs under" in r.stdout and "8 completed" in r.stdout and str(out) in r.stdout
    assert (out / "results.csv").read_text() == (sweep / "results.csv").read_text()


def _compose(*overrides: str):
    from hydra import compose, initialize_config_module

    import drsn_fd.cli  # noqa: F401  (registers the resolvers)

    with initialize_config_module(config_module="drsn_fd.configs", version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides), return_hydra_config=True)


def test_sweep_configs_match_issue_4():
    paper = _compose("sweep=paper")
    params = paper.hydra.sweeper.params
    assert set(params.model.split(",")) == {"convnet", "resnet", "drsn_cs", "drsn_cw"}
    assert set(params.noise.split(",")) == {"gaussian", "laplacian", "pink"}
    assert params["noise.snr"] == "range(-5,6)" and params.seed == "range(5)"  # -5..5 dB by 1, 5 seeds
    assert paper.optim._target_ == "torch.optim.SGD" and paper.optim.lr == 0.1 and paper.optim.momentum == 0.9
    assert paper.optim.weight_decay == 1e-4 and list(paper.scheduler.milestones) == [0.4, 0.8]
    assert paper.trainer.epochs == 100 and paper.trainer.batch_size == 128 and paper.noise.train_snr == -5

    rob = _compose("sweep=robustness")
    assert list(rob.noise.train_snr) == [-10, 10]  # mixed protocol, scored across eval.snrs
    assert set(rob.hydra.sweeper.params.model.split(",")) >= {"convnet", "resnet", "drsn_cs", "drsn_cw"}
    assert list(rob.eval.snrs) == list(range(-10, 11, 2))

    quick = _compose("sweep=quick")
    assert quick.trainer.epochs <= 10 and quick.hydra.sweeper.params.seed == "0,1"
    small = {e: _compose(f"sweep=[{e},quick]") for e in ("paper", "robustness")}
    assert small["robustness"].noise.train_snr is not None and list(small["robustness"].noise.train_snr) == [-10, 10]
    for cfg in small.values():
        assert cfg.trainer.epochs == quick.trainer.epochs
        assert cfg.hydra.sweeper.params.model == quick.hydra.sweeper.params.model


@pytest.mark.slow
def test_cli_accepts_a_list_of_sweeps(tmp_path):
    p = subprocess.run([command("drsn-train"), "sweep=[robustness,quick]", "--cfg", "job"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "train_snr:\n  - -10\n  - 10" in p.stdout and "epochs: 10" in p.stdout


# ---- the report computes a study: conditions, Holm, duplicates, within vs cross, convergence ----

def study_run(model, seed, acc, experiment="shrinkage_gaussian", overrides=None, *, within=None,
              history=None, best_epoch=3, val_acc=0.5, epochs=3, threads=1, **kw) -> dict:
    """metrics() with what a run of this version records: its condition and its convergence facts."""
    m = metrics(model, "matched", -8, -8, seed, acc, **kw)
    m["condition"] = {"experiment": experiment,
                      "overrides": {"experiment": experiment, "model": model, **(overrides or {})}}
    m["config"]["trainer"]["epochs"] = epochs
    m["history"] = history or [{"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.9, "val_loss": 1.0,
                                "val_acc": val_acc} for e in range(1, epochs + 1)]
    m["best"] = {"epoch": best_epoch, "val_acc": val_acc, "val_loss": 1.0}
    m["threads"], m["precise_bn"] = threads, False
    if within is not None:  # a shift protocol: the same weights on the training records' later stretch
        m["data"]["split_protocol"] = "cross-load 0 -> 1 hp"
        m["test_within"] = {"best": {**m["test"]["best"], "acc": within}}
        m["robustness_within"] = [{"kind": "clean", "snr": None, "acc": within + 0.05, "macro_f1": 0.5}]
        m["robustness"] = [{"kind": "clean", "snr": None, "acc": acc + 0.01, "macro_f1": 0.5}]
    return m


def put(root: Path, folder: str, m: dict) -> Path:
    """Write a metrics.json into root/folder (any name: the report must not read it)."""
    (root / folder).mkdir(parents=True)
    (root / folder / "metrics.json").write_text(json.dumps(m))
    return root / folder


def test_run_folders_given_one_by_one_are_named_by_their_own_path(tmp_path):
    from drsn_fd.evaluate.collect import collect

    a = put(tmp_path, "sweep/model=resnet/seed=0", study_run("resnet", 0, 0.9))
    b = put(tmp_path, "sweep/model=drsn_cw/seed=0", study_run("drsn_cw", 0, 0.8))
    assert sorted(r.folder for r in collect([a, b])) == sorted([a.as_posix(), b.as_posix()])
    assert [r.folder for r in collect([a])] == ["seed=0"]
    assert sorted(r.folder for r in collect([tmp_path / "sweep"])) == ["model=drsn_cw/seed=0", "model=resnet/seed=0"]


def test_holm_on_a_hand_computed_example():
    import numpy as np

    from drsn_fd.evaluate.stats import holm

    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone: 0.06 for the last
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-15)
    out = holm([0.01, float("nan"), 0.04, 0.03, 0.005])  # no test: NaN, and not one of the m
    assert np.isnan(out[1]) and list(out[[0, 2, 3, 4]]) == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-15)
    assert list(holm([0.4, 0.6, 0.7])) == [1.0, 1.0, 1.0]  # capped at 1
    assert list(holm([0.2])) == [0.2] and len(holm([])) == 0


def test_holm_agrees_with_statsmodels():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    import numpy as np

    from drsn_fd.evaluate.stats import holm

    p = np.random.default_rng(3).uniform(0, 0.2, 14)
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-12)


def test_paired_p_is_scipys_paired_t_test_and_holm_runs_over_the_table(tmp_path):
    import math

    from scipy import stats

    accs = {"resnet": [0.80, 0.84, 0.78, 0.90], "se_resnet": [0.70, 0.83, 0.88, 0.81],
            "drsn_cw": [0.83, 0.86, 0.79, 0.95]}
    for model, values in accs.items():
        for seed, acc in enumerate(values):
            put(tmp_path / "s", f"run_{model}_{seed}", study_run(model, seed, acc))
    make_report([tmp_path / "s"])
    paired = pd.read_csv(tmp_path / "s" / "results_paired.csv").set_index("baseline")
    p = {b: stats.ttest_rel(accs["drsn_cw"], accs[b]).pvalue for b in ("resnet", "se_resnet")}
    for b in p:
        assert paired.loc[b, "p"] == pytest.approx(p[b], rel=1e-9)
    lo, hi = sorted(p.values())
    holm_lo = min(1.0, 2 * lo)
    expected = {b: (holm_lo if p[b] == lo else max(holm_lo, hi)) for b in p}  # m = 2 comparisons
    for b in p:
        assert paired.loc[b, "p_holm"] == pytest.approx(expected[b], rel=1e-9)
    md = (tmp_path / "s" / "results.md").read_text()
    header = md.split("## Paired comparison", 1)[1].split("| DRSN model", 1)[1].split("\n", 1)[0]
    assert [c.strip() for c in header.split("|")][-4:-1] == ["p", "Holm p", "may not have converged"]
    assert "ttest_1samp" in md and "Holm" in md

    from drsn_fd.evaluate.stats import paired_stats
    assert math.isnan(paired_stats([0.1])["p"])  # n < 2
    assert math.isnan(paired_stats([0.02, 0.02, 0.02])["p"])  # zero variance: no t statistic
    assert paired_stats([0.01, 0.03])["p"] == pytest.approx(stats.ttest_1samp([0.01, 0.03], 0).pvalue)


def test_runs_are_grouped_on_their_recorded_condition_never_on_folder_names(tmp_path):
    root = tmp_path / "s"
    # folders named after the wrong experiment, and one named after nothing at all
    put(root, "experiment=shrinkage_impulsive/seed=0", study_run("resnet", 0, 0.80, "shrinkage_gaussian"))
    put(root, "x/y", study_run("resnet", 1, 0.90, "shrinkage_gaussian"))
    put(root, "experiment=shrinkage_gaussian/seed=0", study_run("resnet", 0, 0.60, "shrinkage_fixed_train"))
    put(root, "z", study_run("resnet", 0, 0.70, "shrinkage_gaussian", {"trainer.epochs": "50"}))
    put(root, "old", metrics("resnet", "matched", -8, -8, 0, 0.50))  # recorded no condition: today's keys
    make_report([root])
    groups = pd.read_csv(root / "results.csv", keep_default_na=False)
    by = {c: (n, a) for c, n, a in zip(groups["condition"], groups["n"], groups["acc_mean"], strict=True)}
    assert by["experiment=shrinkage_gaussian"] == (2, pytest.approx(0.85))
    assert by["experiment=shrinkage_fixed_train"] == (1, pytest.approx(0.60))
    assert by["experiment=shrinkage_gaussian trainer.epochs=50"] == (1, pytest.approx(0.70))
    assert by[""] == (1, pytest.approx(0.50)) and len(groups) == 4
    runs = pd.read_csv(root / "runs.csv", keep_default_na=False)
    assert not runs["duplicate"].any()  # four seed-0 runs, each of its own condition: no cell twice


def test_two_runs_of_one_cell_are_named_and_left_out_of_groups_and_pairs(tmp_path):
    sweep, rerun = tmp_path / "sweep", tmp_path / "rerun"
    for seed, (a, b) in enumerate([(0.80, 0.82), (0.84, 0.90), (0.78, 0.80)]):
        put(sweep, f"resnet/{seed}", study_run("resnet", seed, a))
        put(sweep, f"drsn_cw/{seed}", study_run("drsn_cw", seed, b))
    put(rerun, "drsn_cw/2", study_run("drsn_cw", 2, 0.99))  # the same condition, model and seed again
    text = make_report([sweep, rerun], tmp_path / "out")
    groups = pd.read_csv(tmp_path / "out" / "results.csv").set_index("model")
    assert groups.loc["drsn_cw", "n"] == 2 and groups.loc["drsn_cw", "acc_mean"] == pytest.approx(0.86)
    assert groups.loc["drsn_cw", "seeds"] == "0 1" and groups.loc["resnet", "n"] == 3
    paired = pd.read_csv(tmp_path / "out" / "results_paired.csv")
    assert list(paired["n_pairs"]) == [2] and paired["diff_mean"].iloc[0] == pytest.approx((0.02 + 0.06) / 2)
    md = (tmp_path / "out" / "results.md").read_text()
    section = md.split("## Duplicate runs", 1)[1].split("##", 1)[0]
    assert f"`{sweep.as_posix()}/drsn_cw/2`" in section and f"`{rerun.as_posix()}/drsn_cw/2`" in section
    assert "2 runs share their cell" in section and "99.00" in section
    assert "Duplicate runs, left out of groups and pairs: 2" in text
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert sorted(runs[runs["duplicate"]]["folder"]) == [f"{rerun.as_posix()}/drsn_cw/2", f"{sweep.as_posix()}/drsn_cw/2"]


def test_within_record_is_paired_against_cross_domain_run_by_run(tmp_path):
    from scipy import stats

    cross = {"resnet": [0.80, 0.70, 0.75], "drsn_cw": [0.90, 0.60, 0.66]}
    within = {"resnet": [0.85, 0.80, 0.76], "drsn_cw": [0.95, 0.70, 0.66]}
    for model in cross:
        for seed in range(3):
            put(tmp_path / "s", f"{model}{seed}", study_run(model, seed, cross[model][seed], "shrinkage_cross_load",
                                                           within=within[model][seed]))
    put(tmp_path / "s", "plain", study_run("resnet", 0, 0.9))  # no test_within: in no within-cross pair
    text = make_report([tmp_path / "s"])
    wc = pd.read_csv(tmp_path / "s" / "results_within_cross.csv")
    assert set(wc["curve_kind"]) == {"gaussian", "clean"} and len(wc) == 4
    for model in cross:
        row = wc[(wc["model"] == model) & (wc["curve_kind"] == "gaussian")].iloc[0]
        d = [c - w for c, w in zip(cross[model], within[model], strict=True)]
        half = T975[2] * statistics.stdev(d) / 3 ** 0.5
        assert row["n_pairs"] == 3 and row["curve_snr"] == -8
        assert row["diff_mean"] == pytest.approx(statistics.mean(d), abs=1e-12)
        assert (row["t_low"], row["t_high"]) == pytest.approx((statistics.mean(d) - half, statistics.mean(d) + half))
        assert (row["cross_better"], row["within_better"], row["ties"]) == (
            sum(x > 1e-12 for x in d), sum(x < -1e-12 for x in d), sum(abs(x) <= 1e-12 for x in d))
        assert row["p"] == pytest.approx(stats.ttest_rel(cross[model], within[model]).pvalue, rel=1e-9)
        clean = wc[(wc["model"] == model) & (wc["curve_kind"] == "clean")].iloc[0]  # the curves' clean point
        assert clean["diff_mean"] == pytest.approx(statistics.mean(d) - 0.04, abs=1e-12)
        assert clean["p"] == pytest.approx(stats.ttest_1samp([x - 0.04 for x in d], 0).pvalue, rel=1e-9)
    ranked = sorted(zip(wc["p"], wc["p_holm"], strict=True))  # Holm by hand over the table's 4 rows
    running = 0.0
    for k, (p, adjusted) in enumerate(ranked):
        running = max(running, min(1.0, (4 - k) * p))
        assert adjusted == pytest.approx(running, rel=1e-12)
    md = (tmp_path / "s" / "results.md").read_text()
    assert "## Within-record against cross-domain" in md and "Δ cross − within (pp)" in md
    assert "Within-record against cross-domain" in text and (tmp_path / "s" / "within_vs_cross.png").stat().st_size > 0


def test_a_run_that_may_not_have_converged_is_flagged(tmp_path):
    late = study_run("resnet", 0, 0.8, best_epoch=10, epochs=10)  # best epoch in the last 10 %
    slow = study_run("resnet", 1, 0.8, best_epoch=5, epochs=10, val_acc=0.95)  # train acc 0.90 < val 0.95
    fine = study_run("resnet", 2, 0.8, best_epoch=9, epochs=10)  # epoch 9 of 10: not past 90 %
    old = metrics("resnet", "matched", -8, -8, 3, 0.8)
    old["condition"] = late["condition"]
    old.pop("history"), old.pop("best")  # an older record: no facts, no verdict
    for i, m in enumerate([late, slow, fine, old]):
        put(tmp_path / "s", f"r{i}", m)
    text = make_report([tmp_path / "s"])
    runs = pd.read_csv(tmp_path / "s" / "runs.csv").set_index("folder")
    assert runs.loc["r0", "unconverged"] and runs.loc["r0", "unconverged_why"] == "best epoch 10 of 10"
    assert runs.loc["r1", "unconverged"] and "90.0 % < best validation 95.0 %" in runs.loc["r1", "unconverged_why"]
    assert not runs.loc["r2", "unconverged"] and pd.isna(runs.loc["r3", "unconverged"])
    groups = pd.read_csv(tmp_path / "s" / "results.csv")
    assert list(groups["unconverged"]) == [2] and list(groups["n"]) == [4]
    md = (tmp_path / "s" / "results.md").read_text()
    assert "2 of 4" in md and "**2 of 4 runs may not have converged.**" in md
    assert "1 runs record too little to tell" in md and "Runs flagged 'may not have converged': 2" in text


def test_runs_csv_carries_each_runs_convergence_and_condition(tmp_path):
    history = [{"epoch": 1, "train_loss": 2.0, "train_acc": 0.3, "val_loss": 2.1, "val_acc": 0.2},
               {"epoch": 2, "train_loss": 0.4, "train_acc": 0.88, "val_loss": 0.5, "val_acc": 0.81},
               {"epoch": 3, "train_loss": 0.3, "train_acc": 0.91, "val_loss": 0.6, "val_acc": 0.79}]
    m = study_run("drsn_cw", 4, 0.83, "shrinkage_mixed", {"noise.train_snr": "[-10,10]"}, history=history,
                  best_epoch=2, val_acc=0.81, threads=2)
    m["device"] = "cuda"
    put(tmp_path / "s", "any/name", m)
    make_report([tmp_path / "s"])
    runs = pd.read_csv(tmp_path / "s" / "runs.csv")
    for col in ["folder", "condition", "model", "seed", "acc", "acc_last", "best_epoch", "epochs", "train_acc_last",
                "train_loss_last", "val_acc_best", "threads", "device", "precise_bn", "unconverged", "duplicate"]:
        assert col in runs.columns, col
    r = runs.iloc[0]
    assert r["condition"] == "experiment=shrinkage_mixed noise.train_snr=[-10,10]"
    assert (r["best_epoch"], r["epochs"], r["threads"], r["device"]) == (2, 3, 2, "cuda")
    assert (r["train_acc_last"], r["train_loss_last"], r["val_acc_best"]) == (0.91, 0.3, 0.81)
    assert (r["acc"], r["acc_last"]) == (0.83, 0.1) and r["unconverged"] == False  # noqa: E712


def test_an_evaluation_takes_the_condition_of_the_run_it_scored(tmp_path):
    root = tmp_path / "s"
    for exp in ("shrinkage_gaussian", "shrinkage_impulsive"):  # two conditions, the same model and seed
        run = put(root, f"{exp}/seed=0", study_run("resnet", 0, 0.8, exp))
        for overrides in (["data.test_loads=[1]"], ["data.test_loads=[1]", "eval.snrs=[0]"]):
            e = metrics("resnet", "evaluate", -8, -8, 0, 0.6)
            e.update(overrides=overrides, run_dir=str(run))
            put(run / "evaluate", ",".join(overrides), e)
    make_report([root])
    runs = pd.read_csv(root / "runs.csv", keep_default_na=False)
    evaluations = sorted(runs[runs["protocol"] == "evaluate"]["condition"])
    assert evaluations == sorted(f"experiment={exp} evaluate={o}" for exp in ("shrinkage_gaussian", "shrinkage_impulsive")
                                 for o in ("data.test_loads=[1]", "data.test_loads=[1],eval.snrs=[0]"))
    assert not runs["duplicate"].any()  # four evaluations of one model and seed: four cells


def test_an_evaluation_of_the_runs_own_test_split_is_in_no_group(tmp_path):
    root = tmp_path / "s"
    for seed in (0, 1):
        run = put(root, f"shrinkage_gaussian/seed={seed}", study_run("resnet", seed, 0.8, "shrinkage_gaussian"))
        e = metrics("resnet", "evaluate", -8, -8, seed, 0.8)  # drsn-evaluate with no overrides (or adapt=bn)
        e.update(overrides=[], run_dir=str(run))
        put(run / "evaluate", "adapt=bn", e)
    make_report([root])
    groups = pd.read_csv(root / "results.csv", keep_default_na=False)
    assert len(groups) == 1 and groups["n"].tolist() == [2] and "evaluate" not in groups["condition"].iloc[0]


def test_the_accuracies_at_the_first_learning_rate_drop_come_from_the_epoch_before_it():
    from drsn_fd.evaluate.convergence import convergence

    history = [{"epoch": e, "lr": lr, "train_acc": ta, "val_acc": va, "train_loss": 1.0}
               for e, lr, ta, va in [(1, 0.1, 0.3, 0.1), (2, 0.1, 0.6, 0.12), (3, 0.01, 0.8, 0.7), (4, 0.001, 0.9, 0.8)]]
    facts = convergence({"history": history, "best": {"epoch": 4, "val_acc": 0.8}})
    assert (facts["train_acc_at_decay"], facts["val_acc_at_decay"]) == (0.6, 0.12)
    assert math.isnan(convergence({"history": history[:2]})["val_acc_at_decay"])  # no drop yet


def test_a_clean_runs_test_point_is_clean_in_the_within_cross_table():
    from drsn_fd.evaluate.collect import Run
    from drsn_fd.evaluate.within_cross import point_table

    m = {"noise": {"kind": "none", "snr": -5}, "test_within": {"best": {"acc": 0.9}},
         "robustness": [], "robustness_within": []}
    table = pd.DataFrame([{"folder": "r", "data": "d", "model": "resnet", "noise": "none", "protocol": "clean",
                           "train_snr": "clean", "test_snr": "clean", "condition": "", "seed": 0,
                           "unconverged": False, "acc": 0.5}])
    points = point_table([Run("r", "completed", "", m)], table)
    assert points["curve_kind"].tolist() == ["clean"] and points["curve_snr"].isna().all()


def test_the_test_point_comes_from_the_table_row_and_the_curves_from_the_record():
    from drsn_fd.evaluate.collect import Run
    from drsn_fd.evaluate.within_cross import point_table

    m = {"noise": {"kind": "gaussian", "snr": -4}, "test_within": {"best": {"acc": 0.9}},
         "robustness": [{"kind": "gaussian", "snr": -8, "acc": 0.4}, {"kind": "gaussian", "snr": -4, "acc": 0.1}],
         "robustness_within": [{"kind": "gaussian", "snr": -8, "acc": 0.6}]}
    row = {"data": "d", "model": "resnet", "noise": "gaussian", "protocol": "matched", "train_snr": -4,
           "test_snr": -4, "condition": "", "seed": 0, "unconverged": False, "acc": 0.5}
    table = pd.DataFrame([{**row, "folder": "r", "seed": 0, "acc_within": 0.7},      # a run folder
                          {**row, "folder": "csv:r", "seed": 1, "acc_within": 0.8}])  # a runs.csv row: no record
    points = point_table([Run("r", "completed", "", m)], table)
    got = {(s, snr): (w, c) for s, snr, w, c in points[["seed", "curve_snr", "within", "cross"]].itertuples(index=False)}
    assert got == {(0, -8.0): (0.6, 0.4), (0, -4.0): (0.7, 0.5), (1, -4.0): (0.8, 0.5)}


def test_the_pairs_are_also_made_on_the_last_weights_and_within_the_training_records(tmp_path):
    from scipy import stats

    kept = {"resnet": [0.80, 0.70, 0.75, 0.72], "drsn_cw": [0.90, 0.60, 0.66, 0.79], "se_resnet": [0.7, 0.8, 0.6, 0.5]}
    last = {"resnet": [0.81, 0.69, 0.74, 0.70], "drsn_cw": [0.85, 0.72, 0.77, 0.76], "se_resnet": [0.7, 0.7, 0.7, 0.6]}
    within = {"resnet": [0.85, 0.80, 0.76, 0.90], "drsn_cw": [0.95, 0.70, 0.66, 0.80], "se_resnet": [0.9, 0.8, 0.7, 0.6]}
    for model in kept:
        for seed in range(4):
            m = study_run(model, seed, kept[model][seed], "shrinkage_cross_load", within=within[model][seed])
            m["test"]["last"]["acc"] = last[model][seed]
            put(tmp_path / "s", f"{model}{seed}", m)
    text = make_report([tmp_path / "s"])
    t = pd.read_csv(tmp_path / "s" / "results_paired_scores.csv")
    assert sorted(t["score"].unique()) == ["test, last weights", "within the training records"]
    for score, values in (("test, last weights", last), ("within the training records", within)):
        rows = t[t["score"] == score].set_index("baseline")
        assert sorted(rows.index) == ["resnet", "se_resnet"] and (rows["n_pairs"] == 4).all()
        p = {}
        for base in rows.index:
            d = [a - b for a, b in zip(values["drsn_cw"], values[base], strict=True)]
            half = T975[3] * statistics.stdev(d) / 2
            assert rows.loc[base, "diff_mean"] == pytest.approx(statistics.mean(d), abs=1e-12)
            assert (rows.loc[base, "t_low"], rows.loc[base, "t_high"]) == pytest.approx(
                (statistics.mean(d) - half, statistics.mean(d) + half))
            p[base] = stats.ttest_rel(values["drsn_cw"], values[base]).pvalue
            assert rows.loc[base, "p"] == pytest.approx(p[base], rel=1e-9)
        lo = min(p.values())  # Holm over this score's two rows alone
        for base in p:
            want = min(1.0, 2 * lo) if p[base] == lo else max(min(1.0, 2 * lo), p[base])
            assert rows.loc[base, "p_holm"] == pytest.approx(want, rel=1e-9)
    kept_pairs = pd.read_csv(tmp_path / "s" / "results_paired.csv").set_index("baseline")  # unchanged by this
    d = [a - b for a, b in zip(kept["drsn_cw"], kept["resnet"], strict=True)]
    assert kept_pairs.loc["resnet", "diff_mean"] == pytest.approx(statistics.mean(d), abs=1e-12)
    md = (tmp_path / "s" / "results.md").read_text()
    assert "## The same pairs on the last weights and within the training records" in md
    assert "results_paired_scores.csv" in text


def test_runs_without_a_within_record_test_get_no_within_pairs(tmp_path):
    for model in ("resnet", "drsn_cw"):
        for seed in range(3):
            put(tmp_path / "s", f"{model}{seed}", study_run(model, seed, 0.8 + 0.01 * seed * (model == "drsn_cw")))
    make_report([tmp_path / "s"])
    t = pd.read_csv(tmp_path / "s" / "results_paired_scores.csv")
    assert list(t["score"].unique()) == ["test, last weights"]
