"""seeds.<part>: one part of training from its own seed; the report's table of runs that differ in one part."""

from __future__ import annotations

import math
import re
import statistics

import pandas as pd
import pytest
import torch

import drsn_fd.train.loop as loop
from drsn_fd.data.pipeline import NoisyWindows
from drsn_fd.data.windows import build_windows
from drsn_fd.errors import ConfigError
from drsn_fd.evaluate.collect import collect
from drsn_fd.evaluate.report import make_report
from drsn_fd.evaluate.seed_parts import seed_parts_table, std_interval
from drsn_fd.evaluate.stats import run_table
from drsn_fd.validate import check_values
from tests.helpers import make_cfg
from tests.test_report import metrics as record_of
from tests.test_report import write_run

# chi-square quantiles from a printed table: (df, 0.025) and (df, 0.975)
CHI2 = {3: (0.2158, 9.348), 4: (0.4844, 11.143)}


def trace_run(monkeypatch, tmp_path, *overrides: str) -> dict:
    """Train one tiny epoch; return the initial weights, the first epoch's window order and training windows."""
    seen: dict = {}
    build, perm, noisy = loop.model_from_config, torch.randperm, NoisyWindows.train_epoch

    def model_from_config(*a, **k):
        model = build(*a, **k)
        seen["init"] = [p.detach().clone() for p in model.parameters()]
        return model

    def randperm(*a, **k):
        seen.setdefault("order", perm(*a, **k))
        return seen["order"]

    def train_epoch(self, epoch):
        seen.setdefault("noise", noisy(self, epoch))
        seen.setdefault("val", self.val())
        return seen["noise"]

    with monkeypatch.context() as mp:
        mp.setattr(loop, "model_from_config", model_from_config)
        mp.setattr(torch, "randperm", randperm)
        mp.setattr(NoisyWindows, "train_epoch", train_epoch)
        seen["record"] = loop.run(make_cfg("model=convnet", "trainer.epochs=1", "logger.enabled=false", *overrides),
                                  tmp_path)
    return seen


def same(a, b) -> bool:
    if isinstance(a, list):
        return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    return torch.equal(a, b)


def test_each_part_seed_changes_that_part_alone(tmp_path, monkeypatch):
    base = trace_run(monkeypatch, tmp_path / "base")
    other = trace_run(monkeypatch, tmp_path / "seed1", "seed=1")  # every part from seed 1
    parts = {p: trace_run(monkeypatch, tmp_path / p, f"seeds.{p}=1") for p in ("init", "order", "train_noise")}
    key = {"init": "init", "order": "order", "train_noise": "noise"}
    for part, run in parts.items():
        assert run["record"]["seeds"] == {"init": 0, "order": 0, "train_noise": 0, part: 1}
        for p, k in key.items():
            if p == part:  # this part is seed 1's, and differs from seed 0's
                assert same(run[k], other[k]) and not same(run[k], base[k]), part
            else:
                assert same(run[k], base[k]), (part, p)
        assert same(run["val"], base["val"])  # val (and test) noise follow `seed`
    assert not same(other["val"], base["val"])
    assert base["record"]["seeds"] == {"init": 0, "order": 0, "train_noise": 0}


def test_part_seed_of_the_fixed_training_noise(cfg_factory):
    ws = build_windows(cfg_factory().data)
    draw = {o: NoisyWindows(ws, cfg_factory("noise.fixed_train=true", *o), "cpu").train_epoch(0)
            for o in [(), ("seed=3",), ("seeds.train_noise=3",)]}
    assert torch.equal(draw[("seeds.train_noise=3",)], draw[("seed=3",)])
    assert not torch.equal(draw[()], draw[("seed=3",)])


@pytest.mark.parametrize("override,needle", [
    ("seeds.init=-1", "seeds.init=-1 must be an integer >= 0"),
    ("seeds.order=x", "seeds.order='x' must be an integer >= 0"),
    ("seeds.train_noise=1.5", "seeds.train_noise=1.5 must be an integer >= 0"),
    ("seed=-3", "seed=-3 must be an integer >= 0"),
])
def test_bad_part_seed_is_refused_by_name(override, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        check_values(make_cfg(override))


def test_std_interval_matches_the_chi_square_table():
    for df, (lo_q, hi_q) in CHI2.items():
        lo, hi = std_interval(2.0, df + 1)
        assert lo == pytest.approx(2.0 * math.sqrt(df / hi_q), rel=1e-3)
        assert hi == pytest.approx(2.0 * math.sqrt(df / lo_q), rel=1e-3)
    assert all(math.isnan(v) for v in std_interval(1.0, 1))


def diagnosis_runs(root) -> dict:
    """Runs of one condition: the reference, init 1-3, threads 2, init and order both 1, and seeds 1-2."""
    runs = {  # name: (seed, {part: seed}, threads, acc)
        "ref": (0, {}, 1, 0.90), "init1": (0, {"init": 1}, 1, 0.93), "init2": (0, {"init": 2}, 1, 0.88),
        "init3": (0, {"init": 3}, 1, 0.95), "threads2": (0, {}, 2, 0.91),
        "init1order1": (0, {"init": 1, "order": 1}, 1, 0.86), "seed1": (1, {}, 1, 0.97), "seed2": (2, {}, 1, 0.89),
    }
    for name, (seed, own, threads, acc) in runs.items():
        m = record_of("resnet", "matched", -8, -8, seed, acc)
        overrides = {"experiment": "shrinkage_gaussian", **{f"seeds.{p}": v for p, v in own.items()}}
        if threads != 1:
            overrides["trainer.threads"] = threads
        m["test"]["last"]["acc"] = acc - 0.02
        m.update(seeds={"init": seed, "order": seed, "train_noise": seed, **own}, threads=threads,
                 condition={"experiment": "shrinkage_gaussian", "overrides": overrides})
        write_run(root / name, m)
    return runs


def test_seed_parts_table_rows_hold_everything_but_one_part(tmp_path):
    runs = diagnosis_runs(tmp_path)
    parts = seed_parts_table(run_table(collect([tmp_path]))).set_index("part")
    acc = {k: v[3] for k, v in runs.items()}
    expect = {
        "initial weights (seeds.init)": (["ref", "init1", "init2", "init3"], "0 1 2 3"),
        "thread count (trainer.threads)": (["ref", "threads2"], "1 2"),
        "window order (seeds.order)": (["init1", "init1order1"], "0 1"),  # both hold init 1
        "every part (seed)": (["ref", "seed1", "seed2"], "0 1 2"),
    }
    assert set(parts.index) == set(expect)
    for part, (names, values) in expect.items():
        row = parts.loc[part]
        vals = [acc[n] for n in names]
        assert row["n"] == len(names) and row["values"] == values
        assert row["acc_mean"] == pytest.approx(statistics.mean(vals))
        assert row["acc_std"] == pytest.approx(statistics.stdev(vals))
        assert (row["acc_min"], row["acc_max"]) == (min(vals), max(vals))
        assert row["std_low"] < row["acc_std"] < row["std_high"]
        assert row["last_mean"] == pytest.approx(statistics.mean(vals) - 0.02)
        assert row["last_std"] == pytest.approx(statistics.stdev(vals))
    assert parts.loc["window order (seeds.order)", "held"] == "seed=0 init=1 train_noise=0 threads=1"
    assert set(parts["condition"]) == {"experiment=shrinkage_gaussian"}


def test_report_has_the_section_only_when_a_part_varies_alone(tmp_path):
    diagnosis_runs(tmp_path / "diag")
    text = make_report([tmp_path / "diag"])
    md = (tmp_path / "diag" / "results.md").read_text()
    assert "## Which part of training decides where a run ends" in md and "initial weights (seeds.init)" in md
    table = pd.read_csv(tmp_path / "diag" / "results_seed_parts.csv")
    assert len(table) == 4 and "results_seed_parts.csv" in text
    runs_csv = pd.read_csv(tmp_path / "diag" / "runs.csv")
    assert {"seed_init", "seed_order", "seed_train_noise"} <= set(runs_csv.columns)

    for seed, acc in enumerate([0.9, 0.92, 0.88]):  # an ordinary sweep: only `seed` varies (older runs: no seeds)
        write_run(tmp_path / "plain" / str(seed), record_of("resnet", "matched", -8, -8, seed, acc))
    make_report([tmp_path / "plain"])
    assert "Which part" not in (tmp_path / "plain" / "results.md").read_text()
    assert not (tmp_path / "plain" / "results_seed_parts.csv").exists()
