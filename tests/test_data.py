"""Catalog, .mat reading, sources, simulated set and drsn-data on real and simulated files."""

import subprocess

import numpy as np
import pytest
import scipy.io
from omegaconf import OmegaConf

from drsn_fd.data.catalog import CATALOG, CLASS_SETS
from drsn_fd.data.matfile import file_number, read_channel, write_cwru_mat
from drsn_fd.data.simulated import simulate, simulate_signal
from drsn_fd.data.sources import load_records
from drsn_fd.data.windows import build_windows
from drsn_fd.errors import DataError
from tests.helpers import command


def data_cfg(cfg_factory, *overrides):
    return OmegaConf.to_container(cfg_factory(*overrides, tiny=False).data, resolve=True)


@pytest.mark.parametrize("name,num", [("105.mat", 105), ("12k_Drive_End_IR007_0_105.mat", 105),
                                      ("IR007_0_105.mat", 105), ("normal_0_97.mat", 97), ("notes.mat", None)])
def test_file_number_from_name(name, num):
    assert file_number(name) == num


def test_catalog_covers_the_public_set():
    for n in (97, 98, 99, 100):
        assert CATALOG[n].fault == "normal" and CATALOG[n].fs_hz == 48000
    assert CATALOG[105].code == "IR007" and CATALOG[105].fs_hz == 12000 and CATALOG[105].sensor_end == "DE"
    assert CATALOG[109].code == "IR007" and CATALOG[109].fs_hz == 48000
    assert CATALOG[278].sensor_end == "FE" and CATALOG[278].code == "IR007"
    assert CATALOG[144].code == "OR007@3" and CATALOG[156].code == "OR007@12"
    assert CATALOG[3001].code == "IR028" and CATALOG[3001].load_hp == 0
    assert CATALOG[212].load_hp == 3 and CATALOG[212].rpm == 1730
    assert len(CLASS_SETS["ten"]) == 10 and len(CLASS_SETS["four"]) == 4
    assert list(CLASS_SETS["faults"]) == list(CLASS_SETS["ten"])[1:]


def test_channel_is_read_by_suffix_not_by_file_number(tmp_path):
    # like 48 kHz file 174, whose keys carry 173
    x = np.random.default_rng(0).normal(size=5000)
    scipy.io.savemat(tmp_path / "174.mat", {"X173_DE_time": x.reshape(-1, 1), "X173_FE_time": x.reshape(-1, 1) * 2,
                                            "X173RPM": np.array([[1796]])})
    y, rpm = read_channel(tmp_path / "174.mat", "DE")
    np.testing.assert_allclose(y, x)
    assert rpm == 1796
    y, _ = read_channel(tmp_path / "174.mat", "FE")
    np.testing.assert_allclose(y, 2 * x)
    # like file 99, which also holds a copy of 98's channels: the file's own number wins
    scipy.io.savemat(tmp_path / "99.mat", {"X098_DE_time": np.zeros((10, 1)), "X099_DE_time": np.ones((10, 1))})
    assert read_channel(tmp_path / "99.mat", "DE")[0].sum() == 10


def test_missing_channel_names_file_and_keys(tmp_path):
    write_cwru_mat(tmp_path / "97.mat", 97, {"DE": np.zeros(100)}, 1797)
    with pytest.raises(DataError, match=r"97\.mat: no BA channel .*X097_DE_time"):
        read_channel(tmp_path / "97.mat", "BA")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_mat_is_named(tmp_path, damage):
    p = tmp_path / "105.mat"
    write_cwru_mat(p, 105, {"DE": np.random.default_rng(0).normal(size=20000)}, 1797)
    raw = p.read_bytes()
    p.write_bytes({"truncate": raw[: len(raw) // 2], "garbage": b"\x00\x13garbage" * 50, "empty": b""}[damage])
    with pytest.raises(DataError, match=r"105\.mat: (corrupt or truncated|channel|no DE)"):
        read_channel(p, "DE")


def test_simulated_is_deterministic_and_physical():
    e = CATALOG[130]  # outer race: impulses at BPFO = 3.585 x shaft rate
    a = simulate_signal(e, 2.0, np.random.default_rng([0, 130]))
    b = simulate_signal(e, 2.0, np.random.default_rng([0, 130]))
    c = simulate_signal(e, 2.0, np.random.default_rng([1, 130]))
    assert np.array_equal(a, b) and not np.allclose(a, c)
    # the envelope spectrum peaks at BPFO
    from scipy.signal import hilbert

    env = np.abs(hilbert(a))
    spec = np.abs(np.fft.rfft(env - env.mean()))
    f = np.fft.rfftfreq(len(env), 1 / e.fs_hz)
    band = (f > 20) & (f < 300)
    peak = f[band][np.argmax(spec[band])]
    assert abs(peak - 3.585 * e.rpm / 60) < 3


def test_simulated_set_reads_back_through_the_cwru_loader(tmp_path, cfg_factory):
    simulate(tmp_path, seed=0, seconds=1.0)
    cfg = data_cfg(cfg_factory, "data=cwru", f"data.root={tmp_path}", "data.window=1024")
    recs = load_records(cfg)
    assert [r.label for r in recs] == list(CLASS_SETS["ten"])
    normal = recs[0]
    assert normal.fs_in == 48000 and normal.fs == 12000 and len(normal.signal) == 12000


def test_missing_class_is_named(tmp_path, cfg_factory):
    simulate(tmp_path, seed=0, seconds=0.5)
    (tmp_path / "234.mat").unlink()
    cfg = data_cfg(cfg_factory, "data=cwru", f"data.root={tmp_path}")
    with pytest.raises(DataError, match=r"no file for class\(es\) OR021@6"):
        load_records(cfg)


def test_empty_and_missing_root(tmp_path, cfg_factory):
    with pytest.raises(DataError, match="no .mat files"):
        load_records(data_cfg(cfg_factory, "data=cwru", f"data.root={tmp_path}"))
    with pytest.raises(DataError, match="does not exist"):
        load_records(data_cfg(cfg_factory, "data=cwru", f"data.root={tmp_path / 'nope'}"))


def test_manifest_source(tmp_path, cfg_factory):
    rng = np.random.default_rng(0)
    for name, fs in (("healthy.mat", 48000), ("faulty.mat", 12000)):
        write_cwru_mat(tmp_path / name, 1, {"DE": rng.normal(size=fs * 2)}, 1797)
    (tmp_path / "m.csv").write_text("file,label,fs,load\nhealthy.mat,ok,48000,0\nfaulty.mat,bad,12000,0\n")
    recs = load_records(data_cfg(cfg_factory, "data=manifest", f"data.manifest={tmp_path / 'm.csv'}"))
    assert [(r.label, r.fs_in, len(r.signal)) for r in recs] == [("ok", 48000, 24000), ("bad", 12000, 24000)]


def test_four_class_set_and_explicit_mapping(tmp_path, cfg_factory):
    simulate(tmp_path, seed=0, seconds=0.5)
    four = build_windows(data_cfg(cfg_factory, "data=cwru", f"data.root={tmp_path}", "data.classes=four",
                                  "data.window=512"))
    assert four.classes == ["normal", "inner_race", "ball", "outer_race"]
    m = build_windows(data_cfg(cfg_factory, "data=cwru", f"data.root={tmp_path}", "data.window=512",
                               "+data.classes={healthy:[normal],inner:[IR007,IR021]}", "data.loads=[1]"))
    assert m.classes == ["healthy", "inner"] and {r.number for r in m.records} == {98, 106, 210}


DE48K = {"normal": 97, "IR007": 109, "IR014": 174, "IR021": 213, "B007": 122, "B014": 189, "B021": 226,
         "OR007@6": 135, "OR014@6": 201, "OR021@6": 238}


def fake_cwru(folder, numbers, n=16000):
    rng = np.random.default_rng(0)
    for num in numbers:
        write_cwru_mat(folder / f"{num}.mat", num, {"DE": rng.normal(size=n)}, CATALOG[num].rpm)
    return folder


def test_48k_faults_load_with_source_fs_null(tmp_path, cfg_factory):
    fake_cwru(tmp_path, DE48K.values())
    recs = load_records(data_cfg(cfg_factory, "data=cwru", f"data.root={tmp_path}", "data.fs=48000"))
    assert [(r.label, r.number, r.fs_in, r.fs, len(r.signal)) for r in recs] == [
        (lb, num, 48000, 48000, 16000) for lb, num in DE48K.items()]
    recs = load_records(data_cfg(cfg_factory, "data=cwru", f"data.root={tmp_path}"))
    assert {(r.fs_in, r.fs, len(r.signal)) for r in recs} == {(48000, 12000, 4000)}


def test_drsn_data_info_on_48k_faults_needs_no_rate(tmp_path):
    fake_cwru(tmp_path, DE48K.values())
    out = subprocess.run([command("drsn-data"), "info", "data=cwru", f"data.root={tmp_path}", "data.fs=48000"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "48000 -> 48000" in out.stdout and "12000 ->" not in out.stdout


def test_a_class_at_both_rates_asks_for_source_fs(tmp_path, cfg_factory):
    fake_cwru(tmp_path, [97, 105, 109])
    pick = "++data.classes={normal:[normal],IR007:[IR007]}"
    with pytest.raises(DataError) as e:
        load_records(data_cfg(cfg_factory, "data=cwru", f"data.root={tmp_path}", pick))
    msg = str(e.value)
    assert "\n" not in msg and "class(es) IR007 are in this folder at both rates (12 kHz: 105; 48 kHz: 109)" in msg
    assert msg.endswith("choose one with data.source_fs=12000 or data.source_fs=48000"), msg
    for fs, num in ((12000, 105), (48000, 109)):
        recs = load_records(data_cfg(cfg_factory, "data=cwru", f"data.root={tmp_path}", pick, f"data.source_fs={fs}"))
        assert [r.number for r in recs] == [97, num]


def test_faults_set_and_cross_load_class_check(tmp_path, cfg_factory):
    simulate(tmp_path, seed=0, seconds=0.5)
    (tmp_path / "98.mat").unlink()  # no normal record at 1 hp
    base = ("data=cwru", f"data.root={tmp_path}", "data.loads=[0]", "++data.test_loads=[1]")
    with pytest.raises(DataError, match=rf"^data\.test_loads=\[1\]: no record of class\(es\) normal at load 1 hp in "
                                        rf"{tmp_path}; leave them out with data\.classes=faults or a mapping$"):
        load_records(data_cfg(cfg_factory, *base))
    recs = load_records(data_cfg(cfg_factory, *base, "data.classes=faults"))
    assert list(dict.fromkeys(r.label for r in recs)) == [c for c in CLASS_SETS["ten"] if c != "normal"]
    assert sorted(r.load for r in recs) == [0] * 9 + [1] * 9 and all(r.group is None for r in recs)


# ---- real CWRU files -------------------------------------------------------------------------

@pytest.mark.cwru
def test_real_cwru_ten_classes_and_97_at_12k(cwru_root, cfg_factory):
    ws = build_windows(data_cfg(cfg_factory, "data=cwru", f"data.root={cwru_root}"))
    assert ws.classes == list(CLASS_SETS["ten"])
    normal = ws.records[0]
    assert normal.number == 97 and normal.fs_in == 48000 and normal.fs == 12000
    assert abs(len(normal.signal) - 243938 / 4) < 2
    assert len(ws.splits["test"].y) >= 200
    assert all(r.fs_in == 12000 for r in ws.records[1:])


@pytest.mark.cwru
def test_real_cwru_four_classes(cwru_root, cfg_factory):
    ws = build_windows(data_cfg(cfg_factory, "data=cwru", f"data.root={cwru_root}", "data.classes=four"))
    assert ws.classes == ["normal", "inner_race", "ball", "outer_race"]


@pytest.mark.cwru
def test_real_cwru_missing_load_is_named(cwru_root, cfg_factory):
    with pytest.raises(DataError, match="no file for class"):
        load_records(data_cfg(cfg_factory, "data=cwru", f"data.root={cwru_root}", "data.loads=[2]"))


@pytest.mark.cwru
def test_real_cwru_cross_load_faults(cwru_root, cfg_factory):
    base = ("data=cwru", f"data.root={cwru_root}", "data.loads=[0]", "++data.test_loads=[1]")
    recs = load_records(data_cfg(cfg_factory, *base, "data.classes=faults"))
    assert sorted((r.load, r.fs_in) for r in recs) == [(0, 12000)] * 9 + [(1, 12000)] * 9
    with pytest.raises(DataError, match=r"data\.test_loads=\[1\]: no record of class\(es\) normal at load 1 hp"):
        load_records(data_cfg(cfg_factory, *base))


@pytest.mark.cwru
def test_drsn_data_info_on_real_cwru(cwru_root):
    out = subprocess.run([command("drsn-data"), "info", "data=cwru",
                          f"data.root={cwru_root}"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "48000 -> 12000" in out.stdout and "OR021@6" in out.stdout
    assert "gaussian   mean -5.0000 dB" in out.stdout
