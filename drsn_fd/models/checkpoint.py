"""Self-contained checkpoints: weights plus what is needed to use or resume them.

Checkpoints are read with `weights_only=True`: a shared `.pt` file can hold tensors, numbers,
strings and containers, never code to run. The model is then rebuilt from the registry by its
name and plain sizes (`model_from_config`); a config that names something to call, or holds an
interpolation to resolve, is refused before anything is built.
"""

from __future__ import annotations

import logging
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from drsn_fd.data.seeds import seeds_error
from drsn_fd.errors import CheckpointError, ConfigError
from drsn_fd.io import torch_save
from drsn_fd.models.registry import model_from_config, model_sizes

log = logging.getLogger(__name__)

FORMAT = "drsn_fd/1"
REQUIRED = ("format", "model_state", "model", "classes", "fs", "window", "normalize", "config")


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write a checkpoint atomically."""
    torch_save(path, {"format": FORMAT, **payload})


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint, refusing a missing, corrupt, code-carrying or foreign file by name."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if "GLOBAL" in str(e):  # the pickle asks for a Python object: code could run
            raise CheckpointError(f"{path}: refused, it needs more than weights to load (its pickle "
                                  "names Python objects to build or call); drsn_fd checkpoints hold "
                                  "weights and plain values only") from None
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint (not a readable torch file)") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError,
            AttributeError, ImportError, IndexError, KeyError) as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({type(e).__name__}: {first})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a drsn_fd checkpoint (format {FORMAT} expected)")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    _plain_fields(ckpt, path)
    _refuse_interpolations(ckpt["config"], path, "config")
    _drop_write_paths(ckpt["config"], path)
    for key, model_cfg in (("model_cfg", ckpt.get("model_cfg")), ("config.model", (ckpt["config"] or {}).get("model"))):
        if model_cfg is not None:
            _plain_model(model_cfg, path, key)
    return ckpt


RUN_KEYS = ("data", "noise", "model", "optim", "scheduler", "trainer", "eval", "logger", "seed", "seeds", "device")
LOGGER_KEYS = ("enabled", "histograms")


def _drop_write_paths(config: dict, path: Path) -> None:
    """Remove every value of a checkpoint's config that could name a place to write, saying so in one log line.

    Where a command writes comes from its own command line (out=, data.simulated.cache_dir=) or the
    machine's defaults ($DRSN_CACHE, ~/.cache/drsn_fd, the run folder), never from a file someone shares:
    the simulated set's cache folder is dropped, and so is any key a run's config does not hold (a
    top-level `out`, `hydra`, `paths`; a `logger` folder).
    """
    dropped = [f"{k}={config.pop(k)!r}" for k in [k for k in config if k not in RUN_KEYS]]
    if config.get("seeds") is not None and seeds_error(config["seeds"]):
        dropped.append(f"seeds={config.pop('seeds')!r}")  # only the parts' seeds, as integers or null
    logger = config.get("logger")
    if isinstance(logger, dict):
        dropped += [f"logger.{k}={logger.pop(k)!r}" for k in [k for k in logger if k not in LOGGER_KEYS]]
    data = config.get("data")
    simulated = data.get("simulated") if isinstance(data, dict) else None
    if isinstance(simulated, dict) and simulated.get("cache_dir") is not None:
        dropped.append(f"data.simulated.cache_dir={simulated['cache_dir']!r}")
        simulated["cache_dir"] = None
    if dropped:
        log.warning("%s: ignoring %s stored in the checkpoint: a shared file never chooses where drsn_fd "
                    "writes (out=, data.simulated.cache_dir= on the command line, else $DRSN_CACHE or "
                    "~/.cache/drsn_fd)", path, ", ".join(d[:120] for d in dropped))


def _plain_model(model_cfg: Any, path: Path, key: str) -> None:
    """Refuse a model config that is not a registered name with plain sizes, naming the file and key."""
    if not isinstance(model_cfg, dict):
        raise CheckpointError(f"{path}: key {key} holds a {type(model_cfg).__name__}, not a model config; refused")
    try:
        model_sizes(model_cfg, where=f"{path}: {key}")
    except ConfigError as e:
        raise CheckpointError(str(e)) from None


def _plain_fields(ckpt: dict, path: Path) -> None:
    """The fields every reader uses, each of its plain type, or one line naming the key."""
    def positive_int(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v > 0

    checks = {"config": (lambda v: isinstance(v, dict), "a mapping"),
              "model_state": (lambda v: isinstance(v, dict), "a mapping of tensors"),
              "classes": (lambda v: isinstance(v, list) and bool(v) and all(isinstance(c, str) for c in v),
                          "a non-empty list of class names"),
              "fs": (positive_int, "a positive whole number of Hz"),
              "window": (positive_int, "a positive whole number of samples"),
              "normalize": (lambda v: isinstance(v, str), "a normalisation name")}
    if "data_files" in ckpt:
        checks["data_files"] = (_digest_list, "a list of {file, sha256, signal_sha256, role} entries")
    for key, (ok, what) in checks.items():
        if not ok(ckpt[key]):
            raise CheckpointError(f"{path}: key {key} holds {type(ckpt[key]).__name__} {str(ckpt[key])[:40]!r}, "
                                  f"not {what}; refused")


def _digest_list(v: Any) -> bool:
    def hexdigest(h: Any) -> bool:
        return isinstance(h, str) and len(h) == 64 and all(c in "0123456789abcdef" for c in h)

    return isinstance(v, list) and all(
        isinstance(e, dict) and isinstance(e.get("file"), str) and hexdigest(e.get("sha256"))
        and hexdigest(e.get("signal_sha256")) and isinstance(e.get("role"), (str, type(None))) for e in v)


def _refuse_interpolations(value: Any, path: Path, key: str) -> None:
    """A run writes its config resolved: a `${...}` in a checkpoint would make the reader resolve it."""
    if isinstance(value, dict):
        for k, v in value.items():
            _refuse_interpolations(v, path, f"{key}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _refuse_interpolations(v, path, f"{key}[{i}]")
    elif isinstance(value, str) and "${" in value:
        raise CheckpointError(f"{path}: key {key} holds an interpolation ({value[:60]!r}); a checkpoint "
                              "holds plain values only; refused")


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """(model in eval mode with the checkpoint's weights, the checkpoint) of `path`.

    The model is built from the registry by the name and plain sizes of the checkpoint's model
    config, exactly as training built it; anything else in that config is refused by key.
    """
    ckpt = load_checkpoint(path, device)
    model_cfg = ckpt.get("model_cfg") or (ckpt["config"] or {}).get("model")
    if not isinstance(model_cfg, dict) or not model_cfg:
        raise CheckpointError(f"{path}: checkpoint holds no model config")
    try:
        model = model_from_config(model_cfg, len(ckpt["classes"]), where=f"{path}: model config")
    except ConfigError as e:
        raise CheckpointError(str(e)) from None
    try:
        model.load_state_dict(ckpt["model_state"])
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: weights do not fit model {ckpt['model']!r} ({first})") from None
    return model.to(device).eval(), ckpt
