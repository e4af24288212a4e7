"""Thin entry points: drsn-train (Hydra), drsn-data and drsn-report."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from omegaconf import OmegaConf

from drsn_fd.errors import DrsnError

log = logging.getLogger("drsn_fd")
CONFIG_MODULE = "drsn_fd.configs"


def _job_dir(override_dirname: str, seed: object) -> str:
    """A sweep job's folder: its overrides (seed excluded), then seed=N below it."""
    return f"{override_dirname or 'default'}/seed={seed}"


OmegaConf.register_new_resolver("drsn_job_dir", _job_dir, replace=True)


def _fail(prog: str, message: str, code: int = 2) -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(code)


def _train_task(cfg) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from drsn_fd.io import write_json
    from drsn_fd.train.loop import Interrupted, run

    hc = HydraConfig.get()
    out = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    if cfg.trainer.resume:
        from drsn_fd.train.resume import find_resumable

        subdir = str(Path(out).relative_to(hc.sweep.dir)) if multirun else ""
        found = find_resumable(cfg, out, subdir)
        if found is not None and found != out:
            log.info("resuming the unfinished run in %s", found)
            out = found
    try:
        result = run(cfg, out)
    except Interrupted as e:
        _fail("drsn-train", f"{e}; state saved in {out / 'checkpoints' / 'last.pt'} "
                            "(continue with trainer.resume=true)", 128 + e.signum)
    except Exception as e:
        msg = str(e) if isinstance(e, DrsnError) else f"{type(e).__name__}: {e}"
        if not (out / "metrics.json").exists():  # refused before it started: record why
            write_json(out / "metrics.json", {"status": "failed", "error": msg, "run_dir": str(out)})
        if multirun:  # one failed job never sinks the sweep
            log.error("job failed: %s (%s)", msg, out)
            return None
        if isinstance(e, DrsnError) and not os.environ.get("HYDRA_FULL_ERROR"):
            _fail("drsn-train", msg)
        raise
    print(f"test accuracy {result['test']['best']['acc']:.4f}  ->  {out}")
    return result["test"]["best"]["acc"]


def _group_choices(group: str) -> list[str] | None:
    """The configs of a group in the installed config tree, or None if it is no group."""
    from importlib.resources import files

    folder = files(CONFIG_MODULE) / group
    if not folder.is_dir():
        return None
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _check_group_overrides(args: list[str]) -> None:
    """Refuse `group=value` for a value the group does not have, in one line (exit 2)."""
    for arg in args:
        key, sep, value = arg.partition("=")
        key = key.lstrip("+~")
        if not sep or "." in key or "/" in key or key.startswith("hydra") or key.startswith("-"):
            continue
        choices = _group_choices(key)
        if choices is None or value in ("", "null"):
            continue
        for v in value.split(","):
            if v not in choices:
                noun = "registered models" if key == "model" else "allowed"
                _fail("drsn-train", f"{key}={v!r} is unknown; {noun}: {', '.join(choices)}")


def train() -> None:
    """drsn-train [overrides]: train and test one model (or a sweep with -m)."""
    import hydra

    _check_group_overrides(sys.argv[1:])

    main = hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name="train")(_train_task)
    main()


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def data() -> None:
    """drsn-data info|simulate|download [overrides]: look at, make or fetch the data."""
    parser = argparse.ArgumentParser(prog="drsn-data", description=data.__doc__)
    parser.add_argument("command", choices=["info", "simulate", "download"])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data=cwru data.root=DIR")
    parser.add_argument("--out", help="simulate: folder to write the .mat files into")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from hydra.errors import HydraException

    try:
        cfg = _compose(args.overrides)
        if args.command == "info":
            from drsn_fd.data.info import print_info

            print_info(cfg)
        elif args.command == "simulate":
            from drsn_fd.data.simulated import simulate

            sim = cfg.data.simulated
            folder = Path(args.out) if args.out else Path("simulated")
            simulate(folder, int(sim.seed), float(sim.seconds))
            print(f"wrote the simulated set to {folder}")
        else:
            from drsn_fd.data.download import download

            download(cfg.data)
    except (DrsnError, HydraException) as e:
        _fail("drsn-data", str(e).splitlines()[0] if isinstance(e, HydraException) else str(e))


def report() -> None:
    """drsn-report PATH [--out DIR]: tables and plots of every run under PATH."""
    parser = argparse.ArgumentParser(prog="drsn-report", description=report.__doc__)
    parser.add_argument("paths", nargs="+", type=Path, help="sweep folder(s) or run folder(s)")
    parser.add_argument("--out", type=Path, help="where to write the report (default: the first PATH)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from drsn_fd.evaluate.report import make_report

    try:
        summary = make_report(args.paths, args.out)
    except DrsnError as e:
        _fail("drsn-report", str(e), 1)
    print(summary)
