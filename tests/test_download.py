"""`drsn-data download` against a local HTTP server on 127.0.0.1 (never the real site)."""

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import threading

import numpy as np
import pytest
from omegaconf import OmegaConf

from drsn_fd.data.catalog import KNOWN_SHA256
from drsn_fd.data.download import download
from drsn_fd.data.matfile import read_channel, write_cwru_mat
from drsn_fd.data.sources import catalog_selection
from drsn_fd.errors import ConfigError, DataError
from tests.helpers import command


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; logs (path, status, Range header); honours Range; can cut the first reply."""

    def log_request(self, code="-", size="-"):
        self.server.log.append((self.path, int(code), self.headers.get("Range")))

    def do_GET(self):
        path = self.translate_path(self.path)
        try:
            data = open(path, "rb").read()
        except OSError:
            self.send_error(404)
            return
        rng = self.headers.get("Range")
        start = int(rng.removeprefix("bytes=").rstrip("-")) if rng else 0
        if start >= len(data) > 0:
            self.send_error(416)
            return
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if self.server.cut_next:  # a dropped connection halfway through
            self.server.cut_next = False
            body = body[: len(body) // 2]
            self.close_connection = True
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder, request log) of a server on a free port of 127.0.0.1."""
    folder = tmp_path / "served"
    (folder / "cwru").mkdir(parents=True)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    httpd.log, httpd.cut_next = [], False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}/cwru", folder / "cwru"
    httpd.shutdown()
    httpd.server_close()


def data_cfg(cfg_factory, *overrides):
    return OmegaConf.to_container(cfg_factory("data=cwru", *overrides, tiny=False).data, resolve=True)


def fetched(log):
    return sorted(p.rsplit("/", 1)[1] for p, code, _ in log if code in (200, 206))


def test_selection_is_what_the_loader_takes(cfg_factory):
    ten12k = {e.number for e, _ in catalog_selection(data_cfg(cfg_factory))}  # the default: the 12 kHz faults
    assert ten12k == {97, 105, 118, 130, 169, 185, 197, 209, 222, 234}
    k48 = {e.number for e, _ in catalog_selection(data_cfg(cfg_factory, "data.source_fs=48000"))}
    assert k48 == {97, 109, 122, 135, 174, 189, 201, 213, 226, 238}  # the 48 kHz drive-end faults
    four = catalog_selection(data_cfg(cfg_factory, "data.classes=four", "data.loads=null", "data.source_fs=12000"))
    assert len(four) == 40 and four[0][1] == "normal" and four[-1][1] == "outer_race"
    with pytest.raises(DataError, match=r"no file for class\(es\) x with loads=\[0\], fault_end=DE"):
        catalog_selection(data_cfg(cfg_factory, "data.classes={x:[OR014@3]}"))


def test_refuses_without_root_or_for_simulated(cfg_factory, tmp_path):
    with pytest.raises(ConfigError, match="data.root is not set"):
        download(data_cfg(cfg_factory, "data.root=null"))
    with pytest.raises(ConfigError, match="data=simulated is not downloaded"):
        download(OmegaConf.to_container(cfg_factory("data=simulated", tiny=False).data))
    (tmp_path / "f").write_text("")
    with pytest.raises(DataError, match="not a folder"):
        download(data_cfg(cfg_factory, f"data.root={tmp_path / 'f'}"))


def test_cli_unset_root_is_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DRSN_CWRU_ROOT"}
    p = subprocess.run([command("drsn-data"), "download", "data=cwru", "data.root=null"], capture_output=True,
                       text=True, timeout=120, cwd=tmp_path, env=env)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.strip() == "drsn-data: error: data.root is not set: say where the CWRU files go (data.root=DIR)"
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_is_retried_then_named(tmp_path, cfg_factory, capsys, monkeypatch):
    import socket

    import drsn_fd.data.download as dl

    with socket.socket() as s:  # a port of 127.0.0.1 that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = []
    monkeypatch.setattr(dl.time, "sleep", sleeps.append)
    url = f"http://127.0.0.1:{port}/cwru"
    root = tmp_path / "root"
    with pytest.raises(DataError, match=r"1 of 1 file\(s\) failed: 106"):
        download(data_cfg(cfg_factory, f"data.root={root}", f"data.url={url}", "data.classes={a:[106]}"), say=print)
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.split()[:1] == ["106"])
    assert f"{url}/106.mat" in line and "failed" in line and f"after {dl.RETRIES + 1} attempts" in line
    assert len(sleeps) == dl.RETRIES and list(root.iterdir()) == []


def test_one_download_per_folder_at_a_time(cfg_factory, tmp_path):
    fcntl = pytest.importorskip("fcntl")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(DataError, match="another drsn-data download is writing into this folder"):
            download(data_cfg(cfg_factory, f"data.root={tmp_path}", "data.url=http://127.0.0.1:9"))
    finally:
        os.close(fd)


def test_good_bad_and_missing_files(server, tmp_path, cfg_factory, capsys):
    httpd, url, folder = server
    rng = np.random.default_rng(0)
    for n in (106, 119, 120):  # no known sha256: only the load and channel checks stand
        write_cwru_mat(folder / f"{n}.mat", n, {"DE": rng.normal(size=3000), "FE": rng.normal(size=3000)}, 1772)
    raw = (folder / "119.mat").read_bytes()
    (folder / "119.mat").write_bytes(raw[: len(raw) // 3])  # truncated
    write_cwru_mat(folder / "120.mat", 120, {"FE": rng.normal(size=3000)}, 1772)  # no DE channel
    root = tmp_path / "root"
    cfg = data_cfg(cfg_factory, f"data.root={root}", f"data.url={url}",
                   "data.classes={a:[106],b:[119],c:[120],d:[107]}")  # 107 is not served: 404
    with pytest.raises(DataError, match=r"3 of 4 file\(s\) failed: 119, 120, 107") as err:
        download(cfg, say=print)
    assert f"{url}/<number>.mat" in str(err.value)
    out = capsys.readouterr().out
    assert read_channel(root / "106.mat", "DE")[0].size == 3000
    assert sorted(p.name for p in root.iterdir()) == ["106.mat"]  # nothing half-written left behind
    assert f"{url}/119.mat: corrupt or truncated" in out
    assert f"{url}/120.mat: no DE channel" in out
    assert f"{url}/107.mat: HTTP 404" in out
    assert "1 downloaded, 0 already present, 3 failed" in out


def test_resumes_a_cut_transfer_and_skips_what_is_present(server, tmp_path, cfg_factory, capsys):
    httpd, url, folder = server
    rng = np.random.default_rng(1)
    for n in (106, 119):
        write_cwru_mat(folder / f"{n}.mat", n, {"DE": rng.normal(size=50_000)}, 1772)
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(folder / "119.mat", root / "12k_Drive_End_B007_1_119.mat")  # present under a CWRU name
    cfg = data_cfg(cfg_factory, f"data.root={root}", f"data.url={url}", "data.classes={a:[106],b:[119]}")
    httpd.cut_next = True
    download(cfg, say=print)
    out = capsys.readouterr().out
    assert (root / "106.mat").read_bytes() == (folder / "106.mat").read_bytes()
    assert [(p, r is not None) for p, _, r in httpd.log] == [("/cwru/106.mat", False), ("/cwru/106.mat", True)]
    assert httpd.log[1][1] == 206  # the second attempt asked for the rest only
    assert "already present" in out and "12k_Drive_End_B007_1_119.mat" in out
    # a present copy that no longer loads is fetched again and replaced
    (root / "106.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(100))
    httpd.log.clear()
    download(cfg, say=print)
    assert fetched(httpd.log) == ["106.mat"] and "replaced an invalid copy" in capsys.readouterr().out
    assert (root / "106.mat").read_bytes() == (folder / "106.mat").read_bytes()


# ---- real CWRU files -------------------------------------------------------------------------

def _drsn_data_download(root, url):
    return subprocess.run([command("drsn-data"), "download", "data=cwru", f"data.root={root}", f"data.url={url}",
                           "data.classes={normal:[normal],IR007:[IR007],B007:[B007]}", "data.loads=[0]",
                           "data.source_fs=12000"], capture_output=True, text=True, timeout=300)


@pytest.mark.cwru
def test_drsn_data_download_real_files_one_corrupted(server, tmp_path, cwru_root):
    httpd, url, folder = server
    for n in (97, 105, 118):
        shutil.copy(cwru_root / f"{n}.mat", folder / f"{n}.mat")
    good118 = (folder / "118.mat").read_bytes()
    mid = len(good118) // 2  # garbage in the middle: scipy would still load it, the sha256 does not match
    (folder / "118.mat").write_bytes(good118[:mid] + bytes(4096) + good118[mid + 4096:])
    root = tmp_path / "root"

    p = _drsn_data_download(root, url)
    assert p.returncode != 0, p.stdout
    err = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and "Traceback" not in p.stderr, p.stderr
    assert "1 of 3 file(s) failed: 118" in err[0] and url in err[0]
    line118 = next(ln for ln in p.stdout.splitlines() if ln.split()[:1] == ["118"])
    assert "failed" in line118 and f"{url}/118.mat" in line118 and "sha256" in line118
    assert "2 downloaded, 0 already present, 1 failed" in p.stdout
    assert sorted(f.name for f in root.iterdir()) == ["105.mat", "97.mat"]  # no 118.mat, no .part
    for n in (97, 105):
        assert hashlib.sha256((root / f"{n}.mat").read_bytes()).hexdigest() == KNOWN_SHA256[n]
        x, _ = read_channel(root / f"{n}.mat", "DE")
        assert x.size == {97: 243938, 105: 121265}[n]

    httpd.log.clear()
    p = _drsn_data_download(root, url)  # the good files are not fetched again
    assert p.returncode != 0
    assert fetched(httpd.log) == ["118.mat"]
    assert sum("already present   " in ln for ln in p.stdout.splitlines()) == 2
    assert "0 downloaded, 2 already present, 1 failed" in p.stdout

    (folder / "118.mat").write_bytes(good118)  # the mirror is fixed
    p = _drsn_data_download(root, url)
    assert p.returncode == 0, p.stderr
    assert "1 downloaded, 2 already present, 0 failed" in p.stdout
    assert hashlib.sha256((root / "118.mat").read_bytes()).hexdigest() == KNOWN_SHA256[118]
