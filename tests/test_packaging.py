"""A plain (non-editable) install works from any folder: configs ship inside the package."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import command

ROOT = Path(__file__).resolve().parents[1]


def packaging_warnings(pip_output: str) -> list[str]:
    """The build backend's warnings in `pip install -v` output: setuptools' about the project.

    pip's own `WARNING:` lines (an index location of this machine that does not exist, ...) are
    about the environment, not the project, and are left out.
    """
    return [ln.strip() for ln in pip_output.splitlines()
            if re.search("warn", ln, re.IGNORECASE) and not ln.strip().startswith("WARNING:")]


def test_packaging_warnings_are_told_apart_from_pip_notes():
    out = """  WARNING: Location 'file:///opt/pypi-more/simple/wheel/' is ignored: it is neither a file nor a directory.
  /tmp/x/setuptools/command/build_py.py:215: _Warning: Package 'drsn_fd.configs.data' is absent from the `packages`
  /tmp/x/setuptools/config/_apply_pyprojecttoml.py:82: SetuptoolsDeprecationWarning: `project.license` as a TOML table
  Successfully installed drsn_fd-0.1.0"""
    assert [w.split(": ")[1] for w in packaging_warnings(out)] == ["_Warning", "SetuptoolsDeprecationWarning"]


def test_every_config_folder_is_a_package():
    """A config group's folder missing from `packages` makes setuptools warn at every install."""
    tomllib = pytest.importorskip("tomllib")
    packages = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {f"drsn_fd.configs.{d.name}" for d in (ROOT / "configs").iterdir()
               if d.is_dir() and d.name != "__pycache__"}
    assert folders - packages == set()
    assert {p for p in packages if p.startswith("drsn_fd.configs.")} - folders == set()


@pytest.mark.slow
def test_non_editable_install_runs_from_another_folder(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies (torch & co.) come from the test environment; drsn_fd itself is a plain install
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    (Path(site) / "deps.pth").write_text(deps + "\n")
    # -v shows what the build backend says; PYTHONDONTWRITEBYTECODE would add a note of its own
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    p = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "-v", str(ROOT)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    assert packaging_warnings(p.stdout + p.stderr) == []
    where = subprocess.run([str(py), "-c", "import drsn_fd, drsn_fd.configs; print(drsn_fd.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    assert str(ROOT) not in where.stdout and site in where.stdout
    assert (Path(site) / "drsn_fd" / "configs" / "model" / "drsn_cw.yaml").exists()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "DRSN_CACHE": str(tmp_path / "cache")}
    info = subprocess.run([str(py), "-c", "from drsn_fd.cli import data; data()", "info", "data=simulated",
                           "data.simulated.seconds=2"], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=300)
    assert info.returncode == 0, info.stderr[-2000:]
    assert "OR021@6" in info.stdout and "48000 -> 12000" in info.stdout
    job = subprocess.run([str(py), "-c", "import sys; sys.argv[0] = 'drsn-train'; from drsn_fd.cli import train; train()",
                          "--cfg", "job"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert job.returncode == 0, job.stderr[-2000:]
    assert "name: drsn_cw" in job.stdout


@pytest.mark.slow
def test_drsn_data_simulate_writes_cwru_style_files(tmp_path):
    p = subprocess.run([command("drsn-data"), "simulate", "data.simulated.seconds=1", "--out", str(tmp_path / "sim")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    names = {f.name for f in (tmp_path / "sim").glob("*.mat")}
    assert {"97.mat", "105.mat", "234.mat"} <= names
