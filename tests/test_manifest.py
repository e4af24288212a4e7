"""data=manifest: any .mat layout through `key` and `fs_key`, .npy and .csv rows, data.classes, groups,
and cross-load / grouped checks; drsn-predict on the same layouts."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
from omegaconf import OmegaConf

from drsn_fd.data.matfile import read_key, write_cwru_mat
from drsn_fd.data.resample import resample
from drsn_fd.data.sources import load_records
from drsn_fd.data.windows import build_windows
from drsn_fd.deploy.predict import predict_files
from drsn_fd.errors import ConfigError, DataError
from drsn_fd.validate import check_data
from tests.helpers import assert_refused, cli_env, command, drsn_train
from tests.test_deploy import untrained_checkpoint

N_MFPT, FS_MFPT = 48828, 48828  # one second at the MFPT baseline rate
N_RUN, FS_RUN = 25600, 25600


def data_cfg(cfg_factory, manifest, *overrides):
    cfg = cfg_factory("data=manifest", f"data.manifest={manifest}", *overrides, tiny=False)
    return OmegaConf.to_container(cfg.data, resolve=True)


def data_info(cwd, *overrides, data="manifest"):
    """drsn-data info on data=`data` with `overrides`, run in `cwd`."""
    return subprocess.run([command("drsn-data"), "info", f"data={data}", *overrides], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=cli_env())


def sine(n, fs, f):
    return np.sin(2 * np.pi * f * np.arange(n) / fs)


@pytest.fixture
def files(tmp_path):
    """(folder, signals): an MFPT-style file and a nested struct-array file."""
    gs = sine(N_MFPT, FS_MFPT, 100.0)
    scipy.io.savemat(tmp_path / "mfpt.mat", {"bearing": {"gs": gs.reshape(-1, 1), "sr": FS_MFPT, "load": 270,
                                                          "rate": 25}})
    v1, v2 = sine(N_RUN, FS_RUN, 50.0), sine(N_RUN, FS_RUN, 80.0)
    y = np.zeros((1, 3), dtype=[("Name", "O"), ("Data", "O")])
    y[0, 0] = ("vibration_1", v1.reshape(1, -1))  # 1 x n
    y[0, 1] = ("vibration_2", v2.reshape(-1, 1))  # n x 1
    y[0, 2] = ("speed", np.ones((N_RUN, 2)))  # 2-D
    scipy.io.savemat(tmp_path / "run7.mat", {"run7": {"Y": y, "fs": FS_RUN, "info": "rig B",
                                                      "cells": np.array([1.0, "a"], dtype=object)}})
    return tmp_path, {"gs": gs, "v1": v1, "v2": v2}


def write_manifest(folder, rows, header="file,label,fs,load,key,fs_key,group"):
    (folder / "m.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    return folder / "m.csv"


def test_key_and_fs_key_on_both_layouts(files, cfg_factory):
    folder, sig = files
    m = write_manifest(folder, ["mfpt.mat,healthy,,0,bearing.gs,bearing.sr,b1",
                                "run7.mat,v1,,0,run7.Y[Name=vibration_1].Data,run7.fs,r7",
                                f"run7.mat,v2,{FS_RUN},0,run7.Y[Name=vibration_2].Data,,r7"])
    recs = load_records(data_cfg(cfg_factory, m))
    assert [(r.label, r.fs_in, r.fs, r.group, r.channel) for r in recs] == [
        ("healthy", FS_MFPT, 12000, "b1", "bearing.gs"),
        ("v1", FS_RUN, 12000, "r7", "run7.Y[Name=vibration_1].Data"),
        ("v2", FS_RUN, 12000, "r7", "run7.Y[Name=vibration_2].Data")]
    for r, (name, fs) in zip(recs, [("gs", FS_MFPT), ("v1", FS_RUN), ("v2", FS_RUN)], strict=True):
        np.testing.assert_allclose(r.signal, resample(sig[name], fs, 12000), atol=1e-6)
        assert abs(len(r.signal) - 12000) <= 1
    assert recs[0].summary()["group"] == "b1"


def test_no_key_keeps_the_cwru_channel_rule(tmp_path, cfg_factory):
    x = np.random.default_rng(0).normal(size=24000)
    write_cwru_mat(tmp_path / "105.mat", 105, {"DE": x, "FE": 2 * x}, 1797)
    m = write_manifest(tmp_path, ["105.mat,ir,12000,0,,,"])
    rec, = load_records(data_cfg(cfg_factory, m, "data.channel=FE"))
    np.testing.assert_allclose(rec.signal, 2 * x, rtol=1e-6)
    assert rec.channel == "FE" and rec.rpm == 1797 and rec.group is None


@pytest.mark.parametrize("key,needle", [
    ("bearing.nope", "no field 'nope' in bearing"),
    ("nothing.gs", "no variable 'nothing'"),
    ("bearing", "names a struct"),
    ("run7.info", "holds text"),
    ("run7.cells", "holds a cell array, not numbers"),
    ("run7.Y[Name=speed].Data", "2 array, not a 1-D signal"),
    ("run7.Y[Name=vibration_9].Data", "no element of run7.Y has Name=vibration_9"),
    ("run7.Y.Data", "run7.Y is a struct array of 3 elements; pick one with run7.Y[Field=value].Data"),
    ("run7.Y", "names a struct array of 3 elements"),
    ("run7.info.x", "run7.info is not a struct"),
    ("run7..Y", "is not a key"),
])
def test_bad_key_is_one_line_naming_file_and_key(files, cfg_factory, key, needle):
    folder, _ = files
    name = "mfpt.mat" if key.startswith(("bearing", "nothing")) else "run7.mat"
    m = write_manifest(folder, [f"{name},a,1000,0,{key},,"])
    with pytest.raises(DataError) as e:
        load_records(data_cfg(cfg_factory, m))
    msg = str(e.value)
    assert "\n" not in msg and f"{name}: key '{key}'" in msg and needle in msg, msg


def test_bad_fs_key_and_missing_fs_are_named(files, cfg_factory):
    folder, _ = files
    m = write_manifest(folder, ["mfpt.mat,a,,0,bearing.gs,bearing.gs,"])
    with pytest.raises(DataError, match=r"mfpt\.mat: fs_key 'bearing\.gs' does not hold one positive"):
        load_records(data_cfg(cfg_factory, m))
    m = write_manifest(folder, ["mfpt.mat,a,,0,bearing.gs,,"])
    with pytest.raises(DataError, match=r"row 2 \(mfpt\.mat\) has no fs; add an fs column \(or an fs_key"):
        load_records(data_cfg(cfg_factory, m))


def test_matlab_v73_file_is_named(tmp_path):
    (tmp_path / "v73.mat").write_bytes(b"MATLAB 7.3 MAT-file".ljust(116) + bytes(8) + b"\x00\x02IM" + bytes(512))
    with pytest.raises(DataError, match=r"v73\.mat: a MATLAB v7\.3 \(HDF5\) file"):
        read_key(tmp_path / "v73.mat", "x")


def test_selector_matches_numbers_and_single_structs(tmp_path):
    s = np.zeros((1, 2), dtype=[("id", "O"), ("x", "O")])
    s[0, 0], s[0, 1] = (3, np.arange(4.0)), (4, np.ones(4))
    scipy.io.savemat(tmp_path / "a.mat", {"S": s, "one": {"Name": "only", "x": np.arange(3.0)}})
    np.testing.assert_array_equal(read_key(tmp_path / "a.mat", "S[id=3].x"), np.arange(4.0))
    np.testing.assert_array_equal(read_key(tmp_path / "a.mat", "one[Name=only].x"), np.arange(3.0))


def test_cli_bad_key_exits_2_in_one_line(files, tmp_path):
    folder, _ = files
    m = write_manifest(folder, ["run7.mat,a,1000,0,run7.Y[Name=vibration_9].Data,,"])
    assert_refused(data_info(tmp_path, f"data.manifest={m}"), "run7.mat", "key 'run7.Y[Name=vibration_9].Data'")


# ---- groups and loads: the shift splits ------------------------------------------------------

def shift_files(folder, rows):
    """One short 12 kHz CWRU-style file per (label, load, group) row, listed in a manifest."""
    rng = np.random.default_rng(0)
    lines = []
    for i, (label, load, group) in enumerate(rows):
        write_cwru_mat(folder / f"f{i}.mat", i, {"DE": rng.normal(size=24000)}, 1797)
        lines.append(f"f{i}.mat,{label},12000,{load},,,{group}")
    return write_manifest(folder, lines)


def test_test_loads_are_read_and_every_class_is_on_both_sides(tmp_path, cfg_factory):
    m = shift_files(tmp_path, [("a", 0, "g1"), ("b", 0, "g1"), ("a", 1, "g2"), ("b", 1, "g2"), ("a", 2, "g3")])
    recs = load_records(data_cfg(cfg_factory, m, "data.loads=[0]", "++data.test_loads=[1]"))
    assert sorted((r.label, r.load) for r in recs) == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    with pytest.raises(DataError, match=r"^data\.test_loads=\[2\]: no record of class\(es\) b at load 2 hp in "
                                        r"\S*m\.csv; leave them out with a data\.classes mapping$"):
        load_records(data_cfg(cfg_factory, m, "data.loads=[0]", "++data.test_loads=[2]"))
    with pytest.raises(DataError, match=r"^data\.loads=\[2\]: no record of class\(es\) b at load 2 hp"):
        load_records(data_cfg(cfg_factory, m, "data.loads=[2]", "++data.test_loads=[0]"))
    with pytest.raises(DataError, match=r"^data\.loads=null: no record of class\(es\) b outside the test loads"):
        load_records(data_cfg(cfg_factory, m, "data.loads=null", "++data.test_loads=[0,1]"))


def test_a_missing_normal_class_points_at_the_faults_set(tmp_path, cfg_factory):
    m = shift_files(tmp_path, [("normal", 0, ""), ("b", 0, ""), ("b", 1, "")])
    with pytest.raises(DataError, match=r"class\(es\) normal at load 1 hp .*data\.classes=faults or a mapping$"):
        load_records(data_cfg(cfg_factory, m, "data.loads=[0]", "++data.test_loads=[1]"))
    (tmp_path / "m.csv").write_text("file,label,fs\nf0.mat,normal,12000\n")
    with pytest.raises(DataError, match=r"data\.test_loads=\[1\]: \S*f0\.mat has no load"):
        load_records(data_cfg(cfg_factory, tmp_path / "m.csv", "data.loads=[0]", "++data.test_loads=[1]"))


def test_test_groups_are_checked(tmp_path, cfg_factory):
    m = shift_files(tmp_path, [("a", 0, "g1"), ("b", 0, "g1"), ("a", 1, "g2"), ("b", 1, "g2"), ("a", 2, "g3")])
    recs = load_records(data_cfg(cfg_factory, m, "data.loads=null", "++data.test_groups=[g2]"))
    assert [r.group for r in recs] == ["g1", "g1", "g2", "g2", "g3"]
    with pytest.raises(DataError, match=r"^data\.test_groups=\[g3\]: no record of class\(es\) b in the test groups"):
        load_records(data_cfg(cfg_factory, m, "data.loads=null", "++data.test_groups=[g3]"))
    with pytest.raises(DataError, match=r"^data\.test_groups=\[g1, g2\]: no record of class\(es\) b in the training"):
        load_records(data_cfg(cfg_factory, m, "data.loads=null", "++data.test_groups=[g1,g2]"))
    with pytest.raises(DataError, match=r"no record of group\(s\) g9 in \S*m\.csv; groups there: g1, g2, g3$"):
        load_records(data_cfg(cfg_factory, m, "data.loads=null", "++data.test_groups=[g9]"))
    with pytest.raises(DataError, match=r"^data\.test_groups=\[g1\]: no record of class\(es\) b in the training"):
        load_records(data_cfg(cfg_factory, m, "data.loads=null", "++data.test_groups=[g1]", "++data.val_groups=[g2]"))
    with pytest.raises(DataError, match=r"^data\.val_groups=\[g7\]: no record of group\(s\) g7 in"):
        load_records(data_cfg(cfg_factory, m, "data.loads=null", "++data.test_groups=[g1]", "++data.val_groups=[g7]"))
    m = shift_files(tmp_path, [("a", 0, ""), ("b", 0, "")])
    with pytest.raises(DataError, match=r"f0\.mat has no group; give the manifest \(data\.manifest\) a group column"):
        load_records(data_cfg(cfg_factory, m, "++data.test_groups=[g1]"))


# ---- data=manifest is its own data config ---------------------------------------------------

def test_manifest_is_its_own_data_config(tmp_path):
    """data=cwru has no data.manifest key, data=manifest needs one: each refused in one line."""
    assert_refused(data_info(tmp_path, "data.manifest=m.csv", data="cwru"), "data=manifest data.manifest=FILE")
    p = drsn_train("data=cwru", "+data.manifest=m.csv", "data.root=.", cwd=tmp_path)
    assert_refused(p, "data.manifest is set with data=cwru", "data=manifest")
    assert_refused(drsn_train("data=manifest", cwd=tmp_path), "data.manifest is not set", "data.manifest=FILE")


def test_classes_null_is_only_for_a_manifest(tmp_path, cfg_factory):
    m = write_manifest(tmp_path, ["a.mat,a,1000,,,,"])
    check_data(cfg_factory("data=manifest", f"data.manifest={m}").data)  # null: the manifest's own labels
    with pytest.raises(ConfigError, match="data.classes=None must be one of"):
        check_data(cfg_factory("data=simulated", "data.classes=null").data)


# ---- data.classes selects and relabels rows ---------------------------------------------------

CODES = ["IR014", "normal", "B007", "junk", "IR007", "OR007@6"]  # manifest labels, not in class order


@pytest.fixture
def coded(tmp_path):
    """A manifest of one short CWRU-style file per label of CODES; file i is the label CODES[i]."""
    return shift_files(tmp_path, [(code, 0, "") for code in CODES])


def test_classes_null_keeps_every_label_in_first_seen_order(coded, cfg_factory):
    recs = load_records(data_cfg(cfg_factory, coded))
    assert [(r.label, Path(r.file).name) for r in recs] == [(c, f"f{i}.mat") for i, c in enumerate(CODES)]


def test_a_class_set_selects_and_relabels_rows_in_class_order(coded, cfg_factory):
    recs = load_records(data_cfg(cfg_factory, coded, "data.classes=four"))
    got = [(r.label, CODES[int(Path(r.file).stem[1:])]) for r in recs]
    assert [r.state for r in recs] == [code for _, code in got]
    assert got == [("normal", "normal"), ("inner_race", "IR014"), ("inner_race", "IR007"),
                   ("ball", "B007"), ("outer_race", "OR007@6")]  # junk left out; rows keep their order in a class
    ws = build_windows(data_cfg(cfg_factory, coded, "data.classes=four", "data.window=512"))
    assert ws.classes == ["normal", "inner_race", "ball", "outer_race"]


def test_a_mapping_selects_and_relabels_rows(coded, cfg_factory):
    recs = load_records(data_cfg(cfg_factory, coded, "data.classes={inner:[IR007,IR014],other:junk}"))
    assert [(r.label, Path(r.file).name) for r in recs] == [("inner", "f0.mat"), ("inner", "f4.mat"),
                                                            ("other", "f3.mat")]


def test_a_class_asked_for_but_absent_is_named(coded, cfg_factory, tmp_path):
    with pytest.raises(DataError, match=r"^data\.classes: data\.manifest=\S*m\.csv has no row for class\(es\) "
                                        r"IR021; B014; B021; OR014@6; OR021@6; labels there: IR014, normal,"):
        load_records(data_cfg(cfg_factory, coded, "data.classes=ten"))
    at_loads = tmp_path / "loads.csv"
    at_loads.write_text("file,label,fs,load\nf0.mat,IR014,12000,1\nf2.mat,B007,12000,0\n")
    with pytest.raises(DataError, match=r"with loads=\[1\] has no row for class\(es\) ball \(label B007\); "
                                        r"labels there: IR014$"):
        load_records(data_cfg(cfg_factory, at_loads, "data.classes={ir:IR014,ball:[B007]}", "data.loads=[1]"))
    with pytest.raises(ConfigError, match=r"manifest label 'IR007' is in two classes, a and b"):
        load_records(data_cfg(cfg_factory, coded, "data.classes={a:[IR007],b:[IR007,IR014]}"))
    p = data_info(tmp_path, f"data.manifest={coded}", "data.classes={healthy:normal,outer:[OR021@6,OR014@6]}")
    assert_refused(p, "data.classes", "outer (labels OR021@6, OR014@6)")


# ---- .npy and .csv rows ------------------------------------------------------------------------

FS_OWN = 24000


@pytest.fixture
def own(tmp_path):
    """(folder, signals): a .npy, a headed two-column .csv and a header-less three-column .csv at 24 kHz."""
    rng = np.random.default_rng(3)
    sig = {name: rng.normal(size=FS_OWN) for name in ("npy", "accel", "third")}
    np.save(tmp_path / "x.npy", sig["npy"].reshape(-1, 1))
    pd.DataFrame({"time": np.arange(FS_OWN) / FS_OWN, "accel": sig["accel"]}).to_csv(tmp_path / "log.csv",
                                                                                      index=False)
    np.savetxt(tmp_path / "raw.csv", np.column_stack([np.zeros(FS_OWN), np.ones(FS_OWN), sig["third"]]),
               delimiter=",", fmt="%.17g")
    return tmp_path, sig


def own_manifest(folder, rows):
    return write_manifest(folder, rows, header="file,label,fs,column")


def test_npy_and_csv_rows_are_read_by_column(own, cfg_factory):
    folder, sig = own
    m = own_manifest(folder, [f"x.npy,a,{FS_OWN},", f"log.csv,b,{FS_OWN},accel", f"raw.csv,c,{FS_OWN},2"])
    recs = load_records(data_cfg(cfg_factory, m))
    assert [(r.label, r.fs_in, r.fs) for r in recs] == [("a", FS_OWN, 12000), ("b", FS_OWN, 12000),
                                                        ("c", FS_OWN, 12000)]
    for r, name in zip(recs, ("npy", "accel", "third"), strict=True):
        np.testing.assert_allclose(r.signal, resample(sig[name], FS_OWN, 12000), atol=1e-5)


@pytest.mark.parametrize("row,needle", [
    (f"log.csv,b,{FS_OWN},nope", "log.csv: no column 'nope'; columns: time, accel"),
    (f"raw.csv,c,{FS_OWN},3", "raw.csv: column 3 is out of range; the file has 3 column(s), 0 to 2"),
    (f"raw.csv,c,{FS_OWN},accel", "raw.csv: no column 'accel': the file has no header line; give column as a 0-based"),
    (f"log.csv,b,{FS_OWN},", "row 2 (log.csv): this CSV has several columns; name the signal's in the manifest's column"),
    (f"log.csv,b,{FS_OWN},time", "log.csv: holds no samples"),
    (f"x.npy,a,{FS_OWN},1", "row 2 (x.npy): column '1' names a column of a .csv file; a .npy file has none"),
    (f"x.wav,a,{FS_OWN},", "row 2 (x.wav): unsupported file type .wav; allowed: .mat, .npy, .csv"),
    (f"gone.npy,a,{FS_OWN},", "row 2 (gone.npy): file"),
    ("x.npy,a,0,", "row 2 (x.npy): fs 0 must be a positive rate in Hz"),
])
def test_a_bad_npy_or_csv_row_is_named(own, cfg_factory, row, needle):
    folder, _ = own
    if "holds no samples" in needle:  # a column of only a header
        (folder / "log.csv").write_text("time,accel\n")
    with pytest.raises(DataError) as e:
        load_records(data_cfg(cfg_factory, own_manifest(folder, [row])))
    assert "\n" not in str(e.value) and needle in str(e.value), str(e.value)


def test_a_bad_column_is_refused_through_the_cli(own):
    folder, _ = own
    m = own_manifest(folder, [f"log.csv,b,{FS_OWN},accel_z"])
    assert_refused(data_info(folder, f"data.manifest={m}"), "log.csv", "no column 'accel_z'", "time, accel")


def test_fs_key_of_a_npy_row_is_refused(own, cfg_factory):
    folder, _ = own
    m = write_manifest(folder, ["x.npy,a,,rate"], header="file,label,fs,fs_key")
    with pytest.raises(DataError, match=r"row 2 \(x\.npy\): fs_key 'rate' reads the rate inside a \.mat file"):
        load_records(data_cfg(cfg_factory, m))


def test_a_mat_without_key_or_cwru_channel_gives_its_one_array(tmp_path, cfg_factory):
    x = sine(N_RUN, FS_RUN, 70.0)
    scipy.io.savemat(tmp_path / "vib.mat", {"acc_2024_03_01": x.reshape(-1, 1)})
    rec, = load_records(data_cfg(cfg_factory, write_manifest(tmp_path, [f"vib.mat,a,{FS_RUN},,,,"])))
    np.testing.assert_allclose(rec.signal, resample(x, FS_RUN, 12000), atol=1e-6)
    assert rec.channel == "acc_2024_03_01"
    scipy.io.savemat(tmp_path / "two.mat", {"a": x, "b": x})
    with pytest.raises(DataError, match=r"two\.mat: holds 2 numeric arrays"):
        load_records(data_cfg(cfg_factory, write_manifest(tmp_path, [f"two.mat,a,{FS_RUN},,,,"])))


# ---- drsn-predict reads the same layouts -----------------------------------------------------

@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    return untrained_checkpoint(tmp_path_factory.mktemp("untrained") / "best.pt")


def test_predict_reads_a_csv_column_as_the_same_signal_in_a_npy(untrained, own):
    folder, sig = own
    np.save(folder / "accel.npy", sig["accel"])
    p = subprocess.run([command("drsn-predict"), f"checkpoint={untrained}", f"input={folder / 'log.csv'}",
                        "column=accel", f"input_fs={FS_OWN}", "--json"], capture_output=True, text=True,
                       timeout=300, cwd=folder, env=cli_env())
    assert p.returncode == 0, p.stderr[-2000:]
    got, = json.loads(p.stdout)["files"]
    want = predict_files(untrained, folder / "accel.npy", input_fs=FS_OWN)["files"][0]
    assert got["fs_in"] == FS_OWN and got["samples"] == want.samples == 12000 and got["windows"] == len(want.starts)
    np.testing.assert_allclose(list(got["mean_probabilities"].values()), want.probs.mean(0), atol=1e-6)
    by_index = predict_files(untrained, folder / "raw.csv", input_fs=FS_OWN, column=2)["files"][0]
    np.save(folder / "third.npy", sig["third"])
    np.testing.assert_allclose(by_index.probs, predict_files(untrained, folder / "third.npy", input_fs=FS_OWN)
                               ["files"][0].probs, atol=1e-6)


@pytest.mark.parametrize("args,needles", [
    (["input=log.csv", "column=nope"], ("log.csv: no column 'nope'; columns: time, accel",)),
    (["input=log.csv"], ("log.csv: this CSV has several columns", "column=")),
    (["input=x.npy", "column=accel"], ("x.npy: column 'accel' names a column of a .csv file",)),
])
def test_predict_refuses_a_bad_column_in_one_line(untrained, own, args, needles):
    folder, _ = own
    p = subprocess.run([command("drsn-predict"), f"checkpoint={untrained}", *args, f"input_fs={FS_OWN}"],
                       capture_output=True, text=True, timeout=300, cwd=folder, env=cli_env())
    assert_refused(p, *needles)


def test_predict_reads_a_mat_by_key_or_by_its_one_array(untrained, files, tmp_path):
    folder, sig = files
    np.save(folder / "v1.npy", sig["v1"])
    scipy.io.savemat(folder / "one.mat", {"vib": sig["v1"].reshape(1, -1)})
    want = predict_files(untrained, folder / "v1.npy", input_fs=FS_RUN)["files"][0].probs
    for name, key in (("run7.mat", "run7.Y[Name=vibration_1].Data"), ("one.mat", None)):
        got = predict_files(untrained, folder / name, input_fs=FS_RUN, key=key)["files"][0].probs
        np.testing.assert_allclose(got, want, atol=1e-6)
    p = subprocess.run([command("drsn-predict"), f"checkpoint={untrained}", f"input={folder / 'run7.mat'}",
                        f"input_fs={FS_RUN}"], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                       env=cli_env())
    assert_refused(p, "run7.mat: holds no numeric array")
