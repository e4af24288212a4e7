"""data=hit: the HIT-SM files of two rigs, found by folder and file name, checked, read whatever
their variable's name; cross-rig and cross-speed through the real CLI; the gain warning."""

from __future__ import annotations

import csv
import os
import subprocess

import numpy as np
import pytest
import scipy.io

from drsn_fd.data.matfile import read_single_array
from drsn_fd.data.sources import load_records
from drsn_fd.data.sources.hit import catalog
from drsn_fd.errors import DataError
from tests.helpers import TINY, assert_refused, cli_env, command, drsn_train, make_cfg, metrics

STATES = ["Normal", "IR2", "IR5", "IR8", "OR2", "OR5", "OR8"]
FOLDER_RIG = {"Self-built dataset": "selfbuilt", "SpectraQuest MFS dataset": "mfs"}  # the README's two folders


def drsn_data(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([command("drsn-data"), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=cli_env())


def manifest_rows(hit_root):
    with open(hit_root / "MANIFEST.csv", newline="") as f:
        return list(csv.DictReader(f))


def hit_cfg(root, *overrides):
    return make_cfg("data=hit", f"data.root={root}", *overrides).data


def link_copy(hit_root, dest, folders=None, skip=()):
    """A folder of links to the real files, the rig folders renamed (`folders`: real name -> new path)."""
    for row in manifest_rows(hit_root):
        if (row["rig"], row["file"]) in skip:
            continue
        target = dest / (folders or {}).get(row["rig"], row["rig"])
        target.mkdir(parents=True, exist_ok=True)
        os.symlink(hit_root / row["rig"] / row["file"], target / row["file"])
    return dest


def fixture_rig(folder, gains=None, speed=1200, n=16384, special=None):
    """Seven states of white noise at an unpublished speed (so no known sha256), each at unit RMS
    times its gain; `special`: state -> the variables written instead."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for state in STATES:
        x = rng.normal(size=(n, 1))
        x *= (gains or {}).get(state, 1.0) / np.sqrt(np.mean(x ** 2))
        scipy.io.savemat(folder / f"{state}_{speed}.mat", (special or {}).get(state, {f"v_{state}": x}))
    return folder


# ---- the real folder -------------------------------------------------------------------------

@pytest.mark.hit
def test_every_real_file_is_classified(hit_root):
    files = {(f.path.parent.name, f.path.name): f for f in catalog(hit_root)}
    rows = manifest_rows(hit_root)
    assert len(rows) == 28 and set(files) == {(r["rig"], r["file"]) for r in rows}
    for r in rows:
        f = files[(r["rig"], r["file"])]
        state, rpm = r["file"].removesuffix(".mat").split("_")
        assert (f.rig, f.state, f.speed) == (FOLDER_RIG[r["rig"]], state, int(rpm))
        assert f.location == {"N": "normal", "I": "inner", "O": "outer"}[state[0]]
        assert f.severity == (None if state == "Normal" else int(state[2]))


@pytest.mark.hit
def test_real_records_carry_their_domains_and_variable(hit_root):
    recs = load_records(hit_cfg(hit_root))
    assert len(recs) == 28 and [r.label for r in recs[::4]] == STATES  # class-set order, 4 records each
    for r in recs:
        raw = scipy.io.loadmat(r.file)
        (name,) = [k for k in raw if not k.startswith("__")]
        assert r.channel == name and r.fs_in == 51200 and r.fs == 12800 and len(r.signal) == 262144 // 4
        state, rpm = os.path.basename(r.file).removesuffix(".mat").split("_")
        assert (r.rig, r.state, r.speed) == (FOLDER_RIG[os.path.basename(os.path.dirname(r.file))], state, int(rpm))
        assert r.size == (None if state == "Normal" else int(state[2])) and r.load is None and r.group is None
        assert abs(r.rms_in - float(np.sqrt(np.mean(raw[name] ** 2)))) < 1e-12
    loc = load_records(hit_cfg(hit_root, "data.classes=location", "data.rigs=[mfs]", "data.speeds=[600]"))
    assert [(r.label, r.state) for r in loc] == [("normal", "Normal"), ("inner", "IR2"), ("inner", "IR5"),
                                                 ("inner", "IR8"), ("outer", "OR2"), ("outer", "OR5"), ("outer", "OR8")]
    assert {r.rig for r in loc} == {"mfs"} and {r.speed for r in loc} == {600}


@pytest.mark.hit
def test_rig_folders_are_found_whatever_their_path_and_a_missing_state_is_named(hit_root, tmp_path):
    root = link_copy(hit_root, tmp_path / "data", {"Self-built dataset": "lab/copy of SELF_BUILT rig",
                                                  "SpectraQuest MFS dataset": "x/spectraquest-mfs/raw"},
                     skip={("SpectraQuest MFS dataset", "Normal_900.mat")})
    recs = load_records(hit_cfg(root, "data.speeds=[600]"))
    assert sorted((r.rig, r.state) for r in recs) == sorted((rig, s) for rig in ("mfs", "selfbuilt") for s in STATES)
    with pytest.raises(DataError, match=r"no file for Normal at 900 rpm on rig mfs \(SpectraQuest MFS dataset/Normal_900"):
        load_records(hit_cfg(root))
    p = drsn_data("info", "data=hit", f"data.root={root}", cwd=tmp_path)
    assert_refused(p, "Normal at 900 rpm on rig mfs")
    assert_refused(drsn_data("info", "data=hit", f"data.root={root}", "data.rigs=[mfs]",
                             "data.classes={healthy:[Normal],bad:[IR9]}", cwd=tmp_path), "IR9", "data.classes")


@pytest.mark.hit
def test_a_changed_file_is_refused_by_its_sha256(hit_root, tmp_path):
    root = link_copy(hit_root, tmp_path / "hit", skip={("Self-built dataset", "IR2_600.mat")})
    scipy.io.savemat(root / "Self-built dataset" / "IR2_600.mat", {"inside2d_600_1": np.ones((262144, 1))})
    with pytest.raises(DataError, match=r"IR2_600\.mat: sha256 .* is not that of the published HIT-SM file"):
        load_records(hit_cfg(root, "data.rigs=[selfbuilt]"))
    assert_refused(drsn_data("info", "data=hit", f"data.root={root}", "data.rigs=[selfbuilt]", cwd=tmp_path),
                   "IR2_600.mat", "sha256")
    assert len(load_records(hit_cfg(root, "data.rigs=[mfs]"))) == 14  # the other rig's files are untouched


# ---- fixtures ----------------------------------------------------------------------------------

def test_the_single_array_rule(tmp_path):
    x = np.arange(10.0).reshape(-1, 1)
    scipy.io.savemat(tmp_path / "one.mat", {"whatever_name": x, "note": "a text"})
    name, y = read_single_array(tmp_path / "one.mat")
    assert name == "whatever_name" and np.array_equal(y, np.arange(10.0))
    scipy.io.savemat(tmp_path / "two.mat", {"z10_1": x, "z10_2": x})
    with pytest.raises(DataError, match=r"two\.mat: holds 2 numeric arrays.*z10_1 \(numeric 10 x 1\), z10_2"):
        read_single_array(tmp_path / "two.mat")
    scipy.io.savemat(tmp_path / "none.mat", {"note": "no numbers here"})
    with pytest.raises(DataError, match=r"none\.mat: holds no numeric array.*variables: note \(text\)"):
        read_single_array(tmp_path / "none.mat")
    scipy.io.savemat(tmp_path / "wide.mat", {"m": np.ones((3, 10))})
    with pytest.raises(DataError, match=r"wide\.mat: variable m is a 3 x 10 array, not a 1-D signal"):
        read_single_array(tmp_path / "wide.mat")


@pytest.mark.parametrize("variables,needles", [
    ({"a": np.ones((16384, 1)), "b": np.ones((16384, 1))}, ["IR5_1200.mat", "2 numeric arrays", "a (numeric", "b (numeric"]),
    ({"label": "IR5"}, ["IR5_1200.mat", "no numeric array", "label (text)"]),
])
def test_a_file_with_two_arrays_or_none_is_refused_by_name_through_the_cli(tmp_path, variables, needles):
    root = tmp_path / "hit"
    fixture_rig(root / "Self-built dataset", special={"IR5": variables})
    assert_refused(drsn_data("info", "data=hit", f"data.root={root}", "data.window=512", cwd=tmp_path), *needles)


def test_info_lists_domains_and_rms_and_warns_of_a_100x_gain(tmp_path):
    root = tmp_path / "hit"
    fixture_rig(root / "rigs" / "SpectraQuest MFS", gains={"Normal": 0.01})
    p = drsn_data("info", "data=hit", f"data.root={root}", "data.window=512", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    warnings = [ln for ln in p.stdout.splitlines() if ln.startswith("WARNING")]
    assert len(warnings) == 1, p.stdout
    assert "on rig mfs" in warnings[0] and "100x the RMS of class Normal" in warnings[0] and "zscore" in warnings[0]
    table = [ln for ln in p.stdout.splitlines() if "_1200.mat" in ln]
    assert len(table) == 7
    for ln in table:
        state = ln.split("/")[-1].split("_")[0]
        assert f" {state} " in ln and " 1200 " in ln and " mfs " in ln and "v_" + state in ln
        assert ln.split()[-1] == ("0.01" if state == "Normal" else "1")  # the rms column, as read
    root2 = tmp_path / "even"
    fixture_rig(root2 / "Self-built dataset")
    p = drsn_data("info", "data=hit", f"data.root={root2}", "data.window=512", cwd=tmp_path)
    assert p.returncode == 0 and "WARNING" not in p.stdout, p.stdout + p.stderr


@pytest.mark.parametrize("overrides,needles", [
    (["data.rigs=[mfs]", "data.test_rigs=[mfs]"], ["data.rigs=[mfs] and data.test_rigs=[mfs] share rig(s) [mfs]"]),
    (["data.speeds=[600,900]", "data.test_speeds=[900]"], ["share speed(s) [900]"]),
    (["data.test_rigs=[mfs]", "data.test_speeds=[900]"], ["choose one shift protocol"]),
    (["data.classes=ten"], ["data.classes='ten' is unknown for data=hit", "seven, location"]),
    (["data.test_rigs=[cwru]"], ["data.test_rigs: unknown rig(s) cwru", "selfbuilt, mfs"]),
    (["data.loads=[0]"], ["data.loads=[0]: HIT-SM records carry no motor load"]),
    (["data.test_speeds=[1800]"], ["data.test_speeds=[1800]: no record of speed(s) 1800", "speeds there: 1200, 1500"]),
])
def test_bad_hit_settings_are_refused_in_one_line(tmp_path, overrides, needles):
    root = tmp_path / "hit"
    fixture_rig(root / "Self-built dataset", speed=1200)
    fixture_rig(root / "Self-built dataset", speed=1500)
    p = drsn_train(*TINY, "data=hit", f"data.root={root}", *overrides, f"hydra.run.dir={tmp_path / 'run'}",
                   cwd=tmp_path)
    assert_refused(p, *needles)


# ---- shift protocols on the real folder, through the CLI ---------------------------------------

def _windows(n: int, a: float, b: float, window: int = 512, stride: int = 256) -> int:
    """Windows of the stretch [a, b) (fractions) of n samples: the arithmetic of the split, by hand."""
    lo, hi = int(np.floor(a * n + 1e-9)), int(np.floor(b * n + 1e-9))
    return (hi - lo - window) // stride + 1


@pytest.mark.hit
@pytest.mark.slow
@pytest.mark.parametrize("overrides,protocol,is_test,n_train", [
    (["data.test_rigs=[mfs]"], "cross-rig selfbuilt -> mfs", lambda r: r["rig"] == "mfs", 14),
    (["data.rigs=[selfbuilt]", "data.speeds=[600]", "data.test_speeds=[900]"], "cross-speed 600 -> 900 rpm",
     lambda r: r["speed"] == 900, 7),
])
def test_a_shift_run_on_real_hit_tests_only_records_it_never_trained_on(hit_root, tmp_path, overrides, protocol,
                                                                         is_test, n_train):
    out = tmp_path / "run"
    p = drsn_train(*TINY, "trainer.epochs=1", "data=hit", f"data.root={hit_root}", *overrides,
                   f"hydra.run.dir={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    m = metrics(out)
    assert m["data"]["name"] == "HIT-SM" and m["data"]["split_protocol"] == protocol
    recs = m["data"]["records"]
    test = [r for r in recs if is_test(r)]
    assert len(recs) - len(test) == n_train and len(test) == n_train
    assert all(r["role"] == "test" for r in test) and all(r["role"] == "fit" for r in recs if not is_test(r))
    n = 262144 // 4  # every file: 262144 samples at 51.2 kHz, read at 12.8 kHz
    # train, val and within are cut from the training records only; the test records are whole
    assert m["data"]["windows"] == {"train": n_train * _windows(n, 0, 0.12), "val": n_train * _windows(n, 0.12, 0.16),
                                    "within": n_train * _windows(n, 0.16, 0.20), "test": len(test) * _windows(n, 0, 1)}
    assert m["test_within"]["best"]["n"] == m["data"]["windows"]["within"]
