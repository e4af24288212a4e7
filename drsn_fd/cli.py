"""The only door: drsn-train (Hydra), drsn-data, drsn-report, drsn-predict, drsn-export, drsn-inspect, drsn-evaluate."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from drsn_fd.errors import DrsnError

log = logging.getLogger("drsn_fd")
CONFIG_MODULE = "drsn_fd.configs"
_DOOR_PID: int | None = None  # the process that ran drsn-train; a sweep job elsewhere runs in its own


def _fail(prog: str, message: str, code: int = 2) -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(code)


def _door(prog: str, action, out: object = None):
    """action(); a DrsnError, or an OSError on `out`, becomes one line and exit 2."""
    try:
        return action()
    except DrsnError as e:
        _fail(prog, str(e))
    except OSError as e:
        _fail(prog, f"{e.filename or out}: {e.strerror or e}")


def _parser(prog: str, what: str, *examples: str) -> argparse.ArgumentParser:
    """argparse whose --help starts with what the command does and ends with examples."""
    p = argparse.ArgumentParser(prog=prog, epilog="examples:\n  " + "\n  ".join(examples),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.format_help = lambda usage=p.format_help: f"{what}\n\n{usage()}"
    return p


def _train_task(cfg) -> float | None:
    """One job: train and test; returns the best validation accuracy (what a sweeper may optimise)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from drsn_fd.train.loop import run
    from drsn_fd.train.run_folder import RunFolder, find_resumable
    from drsn_fd.train.signals import Interrupted

    hc = HydraConfig.get()
    out = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    if cfg.trainer.resume:
        out = find_resumable(cfg, out, str(out.relative_to(os.path.abspath(hc.sweep.dir))) if multirun else "")
    try:
        result = run(cfg, out)
    except Interrupted as e:
        msg = f"{e}; state saved in {out / 'checkpoints' / 'last.pt'} (continue with trainer.resume=true)"
        if os.getpid() != _DOOR_PID:
            # A job in a process of its own (a SLURM array task): it ends, recorded as interrupted,
            # and the launcher goes on waiting for the others and runs the report.
            log.error("job interrupted: %s", msg)
            return None
        _fail("drsn-train", msg, 128 + e.signum)
    except Exception as e:
        msg = str(e) if isinstance(e, DrsnError) else f"{type(e).__name__}: {e}"
        if multirun:  # one failed job never sinks the sweep; the report lists it
            RunFolder(out).refused(msg)
            log.error("job failed: %s (%s)", msg, out)
            return None
        if isinstance(e, DrsnError) and not os.environ.get("HYDRA_FULL_ERROR"):
            _fail("drsn-train", msg)
        raise
    best = result.get("best") or {}
    print(f"test accuracy {result['test']['best']['acc']:.4f} (best val {best.get('val_acc', float('nan')):.4f})"
          f"  ->  {out}")
    return best.get("val_acc")


def _group_choices(group: str) -> list[str] | None:
    """The configs of a group in the installed config tree, or None if it is no group."""
    from importlib.resources import files

    folder = files(CONFIG_MODULE) / group
    if not folder.is_dir():
        return None
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml") and not p.name.startswith("_"))


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
        for v in value.strip("[]").split(","):  # a sweep a,b or a list [a,b] of configs
            if v not in choices:
                noun = "registered models" if key == "model" else "allowed"
                _fail("drsn-train", f"{key}={v!r} is unknown; {noun}: {', '.join(choices)}")


def _check_before_hydra(args: list[str]) -> None:
    """Refuse an unknown group value, and a single run's bad config, before torch and the run folder."""
    _check_group_overrides(args)
    if os.environ.get("HYDRA_FULL_ERROR") or any(a.startswith("-") or a.lstrip("+~").startswith("sweep=") for a in args):
        return  # a sweep, or Hydra's options (--cfg, --help, -m, ...): Hydra's way
    from drsn_fd.data.sources.manifest import misplaced_manifest
    from drsn_fd.validate import check_values  # no torch

    try:
        cfg = _compose(args, hydra=True)
        if getattr(cfg.hydra.mode, "name", None) != "MULTIRUN":  # sweep=... or hydra.mode=MULTIRUN
            check_values(cfg)
    except DrsnError as e:
        _fail("drsn-train", str(e))
    except Exception as e:  # noqa: BLE001  what Hydra refuses, Hydra reports (without a run folder)
        if (hint := misplaced_manifest(e)) is not None:
            _fail("drsn-train", hint)


def train() -> None:
    """Train a network to tell machine faults apart in noisy vibration signals, then test it once."""
    from importlib import import_module

    import hydra
    from omegaconf import OmegaConf

    global _DOOR_PID
    _DOOR_PID = os.getpid()
    _check_before_hydra(sys.argv[1:])
    OmegaConf.register_new_resolver(  # --help lists the registry's models: only it imports them (and torch)
        "drsn_models", lambda: ", ".join(import_module("drsn_fd.models").list_models()), replace=True)

    main = hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name="train")(_train_task)
    main()


def _compose(overrides: list[str], hydra: bool = False):
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=hydra)


def data() -> None:
    """Look at, make or fetch the vibration records that drsn-train reads."""
    parser = _parser("drsn-data", data.__doc__,
                     "drsn-data info data=cwru data.root=/path/to/cwru      # records, classes and rates it holds",
                     "drsn-data download data=cwru data.root=/path/to/cwru  # fetch the CWRU files it lacks",
                     "drsn-data simulate --out simulated                    # write the simulated .mat files")
    parser.add_argument("command", choices=["info", "simulate", "download"])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data=cwru data.root=DIR")
    parser.add_argument("--out", help="simulate: folder to write the .mat files into")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from hydra.errors import HydraException

    from drsn_fd.data.sources.manifest import misplaced_manifest

    try:
        cfg = _compose(args.overrides)
        if args.command == "info":
            from drsn_fd.data.info import describe

            print(describe(cfg))
        elif args.command == "simulate":
            from drsn_fd.data.simulated import simulate

            sim = cfg.data.get("simulated") or {}
            folder = Path(args.out) if args.out else Path("simulated")
            simulate(folder, int(sim.get("seed", 0)), float(sim.get("seconds", 10.0)))
            print(f"wrote the simulated set to {folder}")
        else:
            from drsn_fd.data.download import download

            download(cfg.data, say=lambda line: print(line, flush=True))
    except (DrsnError, HydraException) as e:
        _fail("drsn-data", (misplaced_manifest(e) or str(e).splitlines()[0]) if isinstance(e, HydraException) else str(e))


def report() -> None:
    """Compare the runs of a sweep: tables, paired differences and plots of every run under PATH."""
    parser = _parser("drsn-report", report.__doc__,
                     "drsn-report multirun/<date>/<time>             # results.md and figures in the sweep folder",
                     "drsn-report outputs/<date>/<time>              # one run",
                     "drsn-report multirun/A multirun/B --out both   # several sweeps in one report",
                     "drsn-report docs/results/X/runs.csv multirun/B --out both   # a published report's runs "
                     "with new ones")
    parser.add_argument("paths", nargs="+", type=Path,
                        help="sweep folder(s), run folder(s), or the runs.csv of an earlier report (its rows count "
                             "as runs: their folders need not exist)")
    parser.add_argument("--out", type=Path, help="where to write the report (default: the first PATH)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from drsn_fd.evaluate.report import make_report

    try:
        summary = make_report(args.paths, args.out)
    except DrsnError as e:
        _fail("drsn-report", str(e), 1)
    print(summary)


def _key_values(prog: str, doc: str, keys: dict[str, str], flags: tuple[str, ...] = (),
                passthrough: tuple[str, ...] = (), examples: tuple[str, ...] = ()) -> tuple[dict, set, list[str]]:
    """Parse `key=value` arguments (like Hydra overrides) and `--flags`; anything else is one line, exit 2.

    Returns (values of `keys`, flags given, `prefix.key=value` items whose prefix is in `passthrough`).
    `keys` maps each key to its help text; a key ending in '!' is required. --help shows `doc` first.
    """
    required = {k.rstrip("!") for k in keys if k.endswith("!")}
    names = {k.rstrip("!"): h for k, h in keys.items()}
    values: dict[str, str] = {}
    given: set[str] = set()
    extra: list[str] = []
    for arg in sys.argv[1:]:
        if arg in ("-h", "--help"):
            width = max(map(len, names)) + 2
            print(f"{doc}\n\nusage: {prog} " + " ".join(f"{k}=..." if k in required else f"[{k}=...]" for k in names)
                  + "".join(f" [{f}]" for f in flags) + "".join(f" [{p}KEY=VALUE ...]" for p in passthrough) + "\n")
            for k, h in names.items():
                print(f"  {k + '=':<{width}} {h}")
            if examples:
                print("\nexamples:\n  " + "\n  ".join(examples))
            sys.exit(0)
        if arg.startswith("--"):
            if arg not in flags:
                _fail(prog, f"unknown option {arg}; allowed: {', '.join(flags) or 'none'}")
            given.add(arg)
            continue
        key, sep, value = arg.partition("=")
        if passthrough and sep and key.startswith(passthrough):
            extra.append(arg)
        elif not sep or key not in names:
            allowed = ", ".join([*names, *(f"{p}*" for p in passthrough)])
            _fail(prog, f"{arg!r} is not a key=value argument it knows; allowed keys: {allowed}")
        elif key in values:
            _fail(prog, f"{key}= is given twice")
        else:
            values[key] = value
    missing = [k for k in names if k in required and k not in values]
    if missing:
        _fail(prog, f"{missing[0]}= is required (see {prog} --help)")
    return values, given, extra


def predict() -> None:
    """Classify vibration recordings window by window with a model trained by drsn-train."""
    import json

    args, flags, _ = _key_values("drsn-predict", predict.__doc__, {
        "checkpoint!": "a drsn-train checkpoint (run/checkpoints/best.pt)",
        "input!": "a .mat, .npy or .csv file, or a folder of them",
        "input_fs": "sampling rate of the input in Hz (default: the CWRU catalog rate of a .mat; "
                    ".npy and .csv need it)",
        "channel": "accelerometer of a CWRU-style .mat: DE, FE or BA (default: the checkpoint's data.channel)",
        "key": "the signal's key in a .mat, e.g. Y[Name=vib].Data (default: its CWRU channel, else its one array)",
        "column": "the signal's column in a .csv: a header name or a 0-based index (default: its only column)",
        "stride": "hop between windows in samples (default: the checkpoint's data.stride_eval)",
        "out": "write a CSV with one row per window and one probability column per class",
    }, flags=("--json",), examples=("drsn-predict checkpoint=RUN/checkpoints/best.pt input=recordings/",
                                    "drsn-predict checkpoint=RUN/checkpoints/best.pt input=x.npy input_fs=12000 --json",
                                    "drsn-predict checkpoint=RUN/checkpoints/best.pt input=118.mat out=windows.csv"))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from drsn_fd.deploy.predict import format_text, predict_files, to_json, write_window_csv

    result = _door("drsn-predict", lambda: predict_files(args["checkpoint"], args["input"], args.get("input_fs"),
                                                         args.get("channel"), args.get("stride"),
                                                         key=args.get("key"), column=args.get("column")))
    if "out" in args:
        _door("drsn-predict", lambda: write_window_csv(result, args["out"]), args["out"])
    print(json.dumps(to_json(result), indent=2) if "--json" in flags else format_text(result))


def export() -> None:
    """Export a trained model for deployment, as TorchScript or ONNX, with its metadata beside it."""
    args, _, _ = _key_values("drsn-export", export.__doc__, {
        "checkpoint!": "a drsn-train checkpoint (run/checkpoints/best.pt)",
        "format!": "torchscript | onnx",
        "out": "the file to write (default: beside the checkpoint, best.torchscript.pt or best.onnx)",
    }, examples=("drsn-export checkpoint=RUN/checkpoints/best.pt format=torchscript",
                 "drsn-export checkpoint=RUN/checkpoints/best.pt format=onnx out=model.onnx"))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from drsn_fd.deploy.export import export_model

    path = _door("drsn-export", lambda: export_model(args["checkpoint"], args["format"], args.get("out")), args.get("out"))
    print(f"wrote {path} and {path.name}.json (input: normalised windows (batch, 1, window); "
          "output: class logits)")


def inspect() -> None:
    """Show how a DRSN's learned shrinkage thresholds follow the input SNR (tables, a plot, TensorBoard)."""
    args, _, overrides = _key_values("drsn-inspect", inspect.__doc__, {
        "checkpoint!": "a drsn_cs, drsn_cw or se_resnet checkpoint from drsn-train",
        "out": "folder for thresholds.csv, thresholds.png and tb/ (default: RUN/inspect)",
    }, passthrough=("data.", "eval."), examples=("drsn-inspect checkpoint=RUN/checkpoints/best.pt",
                                                 "drsn-inspect checkpoint=RUN/checkpoints/best.pt eval.snrs=[-8,0,8]"))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from drsn_fd.evaluate.inspect import inspect_thresholds

    res = _door("drsn-inspect", lambda: inspect_thresholds(args["checkpoint"], overrides, args.get("out")), args.get("out"))
    t = res["table"]
    for col in ("alpha_mean", "zero_fraction"):
        print(f"{col} per unit (rows) and input SNR in dB (columns):")
        print(t.pivot_table(index="unit", columns=["kind", "snr_db"], values=col).round(3).to_string(), "\n")
    print(f"wrote {res['csv']}, {res['figure']} and TensorBoard events in {res['tb']}")


def evaluate() -> None:
    """Score a trained model on any data selection (its own test split, another load, a new folder), with AdaBN or not."""
    from drsn_fd.evaluate.evaluate_help import EXAMPLES, KEYS, PASSTHROUGH, printed

    args, _, overrides = _key_values("drsn-evaluate", evaluate.__doc__, KEYS, passthrough=PASSTHROUGH,
                                     examples=EXAMPLES)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from drsn_fd.evaluate.device import pick_device
    from drsn_fd.evaluate.rescore import rescore

    res = _door("drsn-evaluate", lambda: rescore(args["checkpoint"], overrides, args.get("out"),
                                                 pick_device(args.get("device", "cpu")), data=args.get("data"),
                                                 adapt=args.get("adapt", "none")), args.get("out"))
    print(printed(res))
