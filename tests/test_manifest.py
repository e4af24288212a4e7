"""Manifest source: any .mat layout through `key` and `fs_key`, groups, and cross-load / grouped checks."""

import subprocess

import numpy as np
import pytest
import scipy.io
from omegaconf import OmegaConf

from drsn_fd.data.matfile import read_key, write_cwru_mat
from drsn_fd.data.resample import resample
from drsn_fd.data.sources import load_records
from drsn_fd.errors import DataError
from tests.helpers import assert_refused, cli_env, command

N_MFPT, FS_MFPT = 48828, 48828  # one second at the MFPT baseline rate
N_RUN, FS_RUN = 25600, 25600


def data_cfg(cfg_factory, manifest, *overrides):
    cfg = cfg_factory("data=cwru", f"data.manifest={manifest}", "data.root=null", *overrides, tiny=False)
    return OmegaConf.to_container(cfg.data, resolve=True)


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
    p = subprocess.run([command("drsn-data"), "info", "data=cwru", f"data.manifest={m}"], capture_output=True,
                       text=True, timeout=300, cwd=tmp_path, env=cli_env())
    assert_refused(p, "run7.mat", "key 'run7.Y[Name=vibration_9].Data'")


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
