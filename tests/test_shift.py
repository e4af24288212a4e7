"""Shift protocols: test on records the model never saw (cross-load, -speed, -size, -rig, grouped), and smaller
training sets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drsn_fd.data.simulated import simulate
from drsn_fd.data.windows import build_windows
from drsn_fd.errors import ConfigError, DataError
from drsn_fd.train.loop import run
from drsn_fd.validate import check_config
from tests.helpers import TINY, assert_refused, drsn_train, make_cfg


def test_cross_load_tests_only_records_it_never_trained_on():
    ws = build_windows(make_cfg("data.loads=[0]", "data.test_loads=[1]").data)
    assert ws.protocol == "cross-load 0 -> 1 hp"
    loads = np.array([r.load for r in ws.records])
    train_recs, val_recs, test_recs = (set(ws.splits[s].record) for s in ("train", "val", "test"))
    assert set(loads[list(test_recs)]) == {1} and set(loads[list(train_recs | val_recs)]) == {0}
    assert not test_recs & (train_recs | val_recs)  # no test record is in training or validation
    assert val_recs <= train_recs  # validation is cut by time from the training records
    for ri in train_recs:  # train | val | within by time in each training record
        t_end = ws.splits["train"].start[ws.splits["train"].record == ri].max() + ws.window
        v = ws.splits["val"].start[ws.splits["val"].record == ri]
        assert v.min() >= t_end
        assert ws.splits["within"].start[ws.splits["within"].record == ri].min() >= v.max() + ws.window
    assert set(ws.splits["within"].record) == train_recs
    for ri in test_recs:  # the whole test record, windowed with stride_eval
        n = len(ws.records[ri].signal)
        starts = ws.splits["test"].start[ws.splits["test"].record == ri]
        assert starts[0] == 0 and len(starts) == (n - ws.window) // 256 + 1
    assert sorted(set(ws.splits["test"].y)) == list(range(len(ws.classes)))


def test_within_record_is_the_default_and_is_named():
    ws = build_windows(make_cfg().data)
    assert ws.protocol == "within-record (time split)"
    assert set(ws.splits["train"].record) == set(ws.splits["test"].record)


def test_a_cross_load_run_names_its_protocol(tmp_path):
    m = run(make_cfg("data.loads=[0]", "data.test_loads=[1]", "trainer.epochs=1"), tmp_path)
    assert m["data"]["split_protocol"] == "cross-load 0 -> 1 hp"
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["data"]["split_protocol"] == "cross-load 0 -> 1 hp" and "split_protocol" not in saved
    assert {r["load"] for r in saved["data"]["records"]} == {0, 1}
    # the same model also tested within its training recordings: a later stretch of them
    assert saved["test_within"]["best"]["n"] == saved["data"]["windows"]["within"]
    assert [p["kind"] for p in saved["robustness_within"]] == [p["kind"] for p in saved["robustness"]]


@pytest.mark.parametrize("overrides,needle", [
    (["data.loads=[0,1]", "data.test_loads=[1]"], "share load(s) [1]"),
    (["data.test_loads=[1]", "data.test_groups=[a]"], "choose one shift protocol"),
    (["data.val_groups=[a]"], "data.val_groups needs data.test_groups"),
    (["data.test_loads=[]"], "non-empty list"),
    (["data.train_fraction=0"], "data.train_fraction=0"),
    (["data.train_fraction=1.5"], "(0, 1]"),
])
def test_bad_shift_settings_are_refused(overrides, needle):
    with pytest.raises(ConfigError) as e:
        check_config(make_cfg(*overrides))
    assert needle in str(e.value)


def _grouped_manifest(tmp_path):
    """Simulated records written twice, as two 'bearings' (groups a and b) of the same four classes."""
    rows = ["file,label,fs,load,group"]
    for group, seed in (("a", 1), ("b", 2), ("c", 3)):
        simulate(tmp_path / group, seed=seed, seconds=1.0)
        for number, label in ((97, "normal"), (105, "inner"), (118, "ball"), (130, "outer")):
            rows.append(f"{group}/{number}.mat,{label},{48000 if number == 97 else 12000},0,{group}")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "manifest.csv"


def test_grouped_split_tests_and_validates_on_whole_groups(tmp_path):
    manifest = _grouped_manifest(tmp_path)
    base = ["data=manifest", f"data.manifest={manifest}", "data.split=[0.6,0.2,0.2]"]
    ws = build_windows(make_cfg(*base, "data.test_groups=[b]").data)
    assert ws.protocol == "grouped a,c -> b"
    group = np.array([r.group for r in ws.records])
    assert set(group[list(set(ws.splits["test"].record))]) == {"b"}
    assert set(group[list(set(ws.splits["train"].record))]) == {"a", "c"}
    ws = build_windows(make_cfg(*base, "data.test_groups=[b]", "data.val_groups=[c]").data)
    assert ws.protocol == "grouped a -> b (validation c)"
    assert set(group[list(set(ws.splits["val"].record))]) == {"c"}
    assert set(group[list(set(ws.splits["train"].record))]) == {"a"}
    with pytest.raises(DataError, match="group"):
        build_windows(make_cfg(*base, "data.test_groups=[z]").data)


def test_train_fraction_keeps_the_start_of_each_training_segment_and_the_same_val_and_test():
    full, tenth = (build_windows(make_cfg(f"data.train_fraction={f}").data) for f in (1.0, 0.1))
    for s in ("val", "test"):
        np.testing.assert_array_equal(full.splits[s].x, tenth.splits[s].x)
    kept = tenth.splits["train"]
    assert 0 < len(kept.y) < 0.2 * len(full.splits["train"].y)
    for ri in set(kept.record):
        starts = kept.start[kept.record == ri]
        all_starts = full.splits["train"].start[full.splits["train"].record == ri]
        np.testing.assert_array_equal(starts, all_starts[: len(starts)])  # contiguous from the start


@pytest.mark.cwru
@pytest.mark.slow
def test_cross_load_on_real_cwru_through_the_cli(tmp_path, cwru_root):
    out = tmp_path / "run"
    base = ["experiment=smoke", "device=cpu", "data=cwru", f"data.root={cwru_root}", "data.loads=[0]",
            "data.test_loads=[1]"]
    p = drsn_train(*base, "data.classes=faults", f"hydra.run.dir={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["data"]["split_protocol"] == "cross-load 0 -> 1 hp" and len(m["data"]["classes"]) == 9
    tested = {r["number"] for r in m["data"]["records"] if r["load"] == 1}
    assert tested == {106, 119, 131, 170, 186, 198, 210, 223, 235}
    # the ten-class set has no 1 hp normal record here: refused by name
    assert_refused(drsn_train(*base, f"hydra.run.dir={tmp_path / 'r2'}", cwd=tmp_path), "normal", "data.test_loads=[1]")


# ---- one mechanism over a record attribute: speed, size, rig -------------------------------------

def test_every_shift_key_is_a_data_key_defaulting_to_null():
    from drsn_fd.data.domains import SHIFTS, VAL_KEY

    data = make_cfg().data
    for key in [*SHIFTS, VAL_KEY]:
        assert key in data and data[key] is None, key


def _sides(ws):
    train_val = set(ws.splits["train"].record) | set(ws.splits["val"].record)
    return train_val, set(ws.splits["test"].record)


def test_cross_size_trains_on_small_faults_and_splits_normal_by_time():
    ws = build_windows(make_cfg("data.classes=location", "data.test_sizes=[0.021]").data)
    assert ws.protocol == "cross-size 0.007,0.014 -> 0.021 (normal: split by time)"
    assert ws.classes == ["normal", "inner_race", "ball", "outer_race"]
    train_val, test = _sides(ws)
    sizes = {i: ws.records[i].size for i in range(len(ws.records))}
    assert {sizes[i] for i in train_val} == {None, 0.007, 0.014} and {sizes[i] for i in test} == {None, 0.021}
    (normal,) = [i for i, r in enumerate(ws.records) if r.label == "normal"]
    assert ws.records[normal].role == "shared" and train_val & test == {normal}
    # normal: its test stretch comes after its training and validation stretches, and is also 'within'
    seen_end = max(ws.splits[s].start[ws.splits[s].record == normal].max() for s in ("train", "val")) + ws.window
    test_starts = ws.splits["test"].start[ws.splits["test"].record == normal]
    assert test_starts.min() >= seen_end
    np.testing.assert_array_equal(test_starts, ws.splits["within"].start[ws.splits["within"].record == normal])
    assert sorted(set(ws.splits["test"].y)) == sorted(set(ws.splits["within"].y)) == [0, 1, 2, 3]


def test_cross_speed_on_cwru_reads_the_load_of_that_speed():
    ws = build_windows(make_cfg("data.loads=[0]", "data.test_speeds=[1772]").data)
    assert ws.protocol == "cross-speed 1797 -> 1772 rpm"
    train_val, test = _sides(ws)
    assert {ws.records[i].load for i in test} == {1} and {ws.records[i].load for i in train_val} == {0}


@pytest.mark.parametrize("overrides,needle", [
    (["data.test_sizes=[0.021]", "data.test_loads=[1]"], "choose one shift protocol"),
    (["data.test_sizes=[small]"], "non-empty list of fault sizes"),
    (["data.test_speeds=[fast]"], "non-empty list of speeds in rpm"),
    (["data.test_rigs=[]"], "non-empty list of rig names"),
])
def test_bad_domain_settings_are_refused(overrides, needle):
    with pytest.raises(ConfigError) as e:
        check_config(make_cfg(*overrides))
    assert needle in str(e.value)


@pytest.mark.parametrize("overrides,needles", [
    (["data.test_sizes=[0.021]"], ["data.test_sizes=[0.021]: no record of class(es) IR021, B021, OR021@6",
                                   "data.classes=location"]),
    (["data.test_rigs=[mfs]"], ["data.test_rigs=[mfs]:", "has no rig; data=simulated records carry no rig"]),
    (["data.classes=location", "data.test_sizes=[0.5]"], ["no record of size(s) 0.5", "sizes there: 0.007, 0.014, 0.021"]),
])
def test_a_shift_the_records_cannot_give_is_refused_in_one_line(tmp_path, overrides, needles):
    assert_refused(drsn_train(*TINY, *overrides, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path), *needles)


@pytest.mark.cwru
def test_cross_size_on_real_cwru_trains_on_no_0021_in_fault(cwru_root):
    ws = build_windows(make_cfg("data=cwru", f"data.root={cwru_root}", "data.classes=location",
                                "data.test_sizes=[0.021]").data)
    train_val, test = _sides(ws)
    number = {i: r.number for i, r in enumerate(ws.records)}
    # the README of the CWRU folder: 0.021 in faults are files 209, 222, 234; 97 is the normal record
    assert {number[i] for i in train_val} == {97, 105, 118, 130, 169, 185, 197}
    assert {number[i] for i in test} == {97, 209, 222, 234}
    assert all(ws.records[i].size != 0.021 for i in train_val)
