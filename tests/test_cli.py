"""The commands' doors: --help that starts with what a command does, and a bad config refused fast.

The refusals run the installed drsn-train in an empty folder: a config error must be refused before
torch is imported and before Hydra makes a run folder (no wall-clock time is asserted).
"""

import os
import subprocess
import sys
from importlib import import_module, metadata
from pathlib import Path

import pytest

from tests.helpers import assert_refused, cli_env, command, drsn_train


def declared_commands() -> dict:
    """The console scripts pyproject.toml declares ([project.scripts]), each with its entry point.

    On Python 3.10 (no tomllib) they are read from the installed package's metadata instead.
    """
    try:
        import tomllib
    except ModuleNotFoundError:
        scripts = {e.name: e.value for e in metadata.entry_points(group="console_scripts")
                   if e.value.startswith("drsn_fd.")}
    else:
        pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
        scripts = tomllib.loads(pyproject)["project"]["scripts"]
    entries = {}
    for name, target in scripts.items():
        module, _, attr = target.partition(":")
        entries[name] = getattr(import_module(module), attr)
    return entries


COMMANDS = declared_commands()


def test_every_declared_command_is_installed():
    assert {"drsn-train", "drsn-evaluate", "drsn-report"} <= set(COMMANDS)
    for name in COMMANDS:
        assert Path(command(name)).is_file(), f"{name} is declared but not installed (pip install -e .)"


def _help(name: str, *args: str, cwd) -> str:
    p = subprocess.run([command(name), *args, "--help"], cwd=cwd, capture_output=True, text=True, timeout=300,
                       env=cli_env())
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_starts_with_what_the_command_does_and_shows_examples(name, tmp_path):
    out = _help(name, cwd=tmp_path)
    what = COMMANDS[name].__doc__.splitlines()[0]
    assert out.splitlines()[0] == what, out[:300]
    examples = [ln for ln in out.splitlines() if ln.startswith(f"  {name} ")]
    assert 2 <= len(examples) <= 6, out
    assert list(tmp_path.iterdir()) == []


def test_train_help_lists_sweeps_groups_and_every_registered_model_but_not_the_config(tmp_path):
    from drsn_fd.models import list_models

    out = _help("drsn-train", cwd=tmp_path)
    assert "drsn-train -m " in out and "sweep=quick" in out and "--cfg job" in out
    assert "tensorboard --logdir outputs" in out and "drsn-report multirun/" in out
    for group in ("data: ", "noise: ", "model: ", "optim: ", "scheduler: ", "sweep: ", "launcher: "):
        assert f"\n{group}" in out, group
    models = next(ln for ln in out.splitlines() if ln.startswith("Registered models:"))
    assert models.split(":", 1)[1].strip().split(", ") == list_models()
    assert "eval_batch_size" not in out and "epochs: 100" not in out and "_target_" not in out
    # the settings line follows the overrides given with --help
    assert "trainer.epochs=3" in _help("drsn-train", "trainer.epochs=3", cwd=tmp_path)


def test_validating_a_config_imports_no_torch():
    code = ("import sys; from tests.helpers import make_cfg; from drsn_fd.validate import check_values; "
            "check_values(make_cfg('data=cwru', 'data.root=/nowhere')); print('torch' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       cwd=os.path.dirname(os.path.dirname(__file__)))
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "False"


def test_the_cli_refuses_a_bad_value_before_importing_torch(tmp_path):
    code = ("import atexit, sys; atexit.register(lambda: print('torch' in sys.modules)); "
            "sys.argv = ['drsn-train', 'noise.snr=nan']; from drsn_fd.cli import train; train()")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env=cli_env())
    assert p.returncode == 2 and "noise.snr=nan" in p.stderr, p.stderr
    assert p.stdout.split() == ["False"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("override,needles", [
    ("noise.snr=nan", ["noise.snr=nan", "finite"]),
    ("data=cwru", ["data.root", "not set"]),
    ("model=drsn_xx", ["model='drsn_xx'", "registered models"]),
])
def test_a_bad_config_is_refused_in_one_line_with_no_run_folder(tmp_path, monkeypatch, override, needles):
    monkeypatch.delenv("DRSN_CWRU_ROOT", raising=False)  # drsn_train's environment is built from os.environ
    assert_refused(drsn_train(override, cwd=tmp_path, timeout=300), *needles)
    assert not (tmp_path / "outputs").exists() and list(tmp_path.iterdir()) == []


def test_hydra_options_and_sweeps_are_left_to_hydra(tmp_path):
    """--cfg job shows even a config the run would refuse; the run itself refuses it."""
    p = drsn_train("--cfg", "job", "noise.snr=nan", cwd=tmp_path, timeout=300)
    assert p.returncode == 0 and "snr: .nan" in p.stdout, p.stderr[-2000:]
