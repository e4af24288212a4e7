"""A run folder's lifecycle: claim it (or resume into it), record progress, end with a status.

`metrics.json` is rewritten atomically after every epoch and carries `status`: running,
completed, interrupted or failed (with the error). A completed run is never trained over.
What the record holds, and how it is written and read, is `evaluate/record.py`'s.
"""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from drsn_fd.errors import CheckpointError, ConfigError, DrsnError
from drsn_fd.evaluate.record import METRICS, RecordError, read_record, write_record
from drsn_fd.io import write_text
from drsn_fd.models.checkpoint import load_checkpoint
from drsn_fd.train.signals import Interrupted

log = logging.getLogger(__name__)

# Keys that may differ between the interrupted command and the one that resumes it.
IGNORED = (("trainer", "resume"), ("trainer", "threads"), ("trainer", "progress"), ("device",), ("data", "root"),
           ("data", "simulated", "cache_dir"))  # where files lie on this machine: load_checkpoint drops cache_dir
# What last.pt must hold to continue training (best.pt holds only weights).
RESUME_STATE = ("optimizer", "scheduler", "epoch", "history")
# Hydra's default run folder: outputs/<date>/<time>
_DATE, _TIME = re.compile(r"^\d{4}-\d{2}-\d{2}$"), re.compile(r"^\d{2}-\d{2}-\d{2}$")


def _read_json(path: Path) -> dict:
    """The record in `path`, or {} when there is none to read."""
    try:
        return read_record(path)
    except RecordError:
        return {}


def _comparable(config: dict) -> dict:
    """The config without the keys in IGNORED, flattened: {'a.b': value}."""
    skip = {".".join(p) for p in IGNORED}
    flat: dict = {}

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif prefix not in skip:
            flat[prefix] = node

    walk(json.loads(json.dumps(config)), "")
    return flat


def find_resumable(cfg: DictConfig, out: Path, job_subdir: str = "") -> Path:
    """The folder that `trainer.resume=true` continues: `out` itself, unless Hydra's default
    time-stamped layout made `out` a new folder; then the newest unfinished sibling run of the same
    config (`outputs/<date>/<time>[/<job>]`), if there is one."""
    if (out / "checkpoints" / "last.pt").exists():
        return out
    run_root = out.parents[len(Path(job_subdir).parts) - 1] if job_subdir else out
    if not (_TIME.match(run_root.name) and _DATE.match(run_root.parent.name)):
        return out  # a folder the user named: exactly that one
    want = _comparable(OmegaConf.to_container(cfg, resolve=True))
    found = []
    for last in run_root.parent.parent.glob(f"*/*/{job_subdir + '/' if job_subdir else ''}checkpoints/last.pt"):
        folder = last.parent.parent
        rec = _read_json(folder / "metrics.json")
        if rec.get("status") not in (None, "completed") and _comparable(rec.get("config", {})) == want:
            found.append((last.stat().st_mtime, folder))
    if not found:
        log.info("trainer.resume=true: no unfinished run of this config under %s/<date>/<time>; starting in %s",
                 run_root.parent.parent, out)
        return out
    folder = max(found)[1]
    log.info("trainer.resume=true: continuing the newest unfinished run of this config under "
             "%s/<date>/<time> (Hydra's default layout): %s", run_root.parent.parent, folder)
    return folder


def check_resumable(ckpt: dict, path: Path, cfg: DictConfig) -> None:
    """Refuse a checkpoint that cannot continue this run: no training state, or another config.

    Keys in IGNORED and keys that only one of the two configs has (added by a newer version)
    may differ.
    """
    missing = [k for k in RESUME_STATE if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: not a resumable checkpoint (it has no {', '.join(missing)}); "
                              "delete it to start afresh")
    saved, now = _comparable(ckpt["config"]), _comparable(OmegaConf.to_container(cfg, resolve=True))
    diff = [k for k in sorted(saved.keys() & now.keys()) if saved[k] != now[k]]
    if diff:
        shown = ", ".join(f"{k}={now[k]!r} (saved: {saved[k]!r})" for k in diff[:3])
        raise ConfigError(f"{path} was saved by a run with another config: {shown}"
                          f"{' ...' if len(diff) > 3 else ''}; resume with the same overrides, "
                          "or choose another hydra.run.dir")


class RunFolder:
    """One run's folder: metrics.json, checkpoints/ and the record being written."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.metrics = self.path / METRICS
        self.last = self.path / "checkpoints" / "last.pt"
        self.best = self.path / "checkpoints" / "best.pt"
        self.record: dict = {}

    def claim(self, cfg: DictConfig, header: dict) -> dict | None:
        """Take the folder for this run, refusing one that holds another.

        Returns the record of a completed run when `trainer.resume=true` finds one (nothing to do),
        else None with the folder claimed: `record` is `header` over what an unfinished run kept.
        """
        resume = bool(cfg.trainer.resume)
        previous = _read_json(self.metrics).get("status") if self.metrics.exists() else None
        if previous == "completed":
            if resume:
                log.info("%s already holds a completed run; nothing to resume", self.path)
                return _read_json(self.metrics)
            raise ConfigError(f"{self.path} already holds a completed run (metrics.json); choose another "
                              "hydra.run.dir, or pass trainer.resume=true to keep it")
        if previous and not resume and self.last.exists():
            raise ConfigError(f"{self.path} holds an unfinished run ({previous}); pass trainer.resume=true to "
                              "continue it, or choose another hydra.run.dir")
        if resume and self.last.exists():  # refuse a corrupt or foreign last.pt before touching the folder
            check_resumable(load_checkpoint(self.last), self.last, cfg)
        self.path.mkdir(parents=True, exist_ok=True)
        write_text(self.path / ".hydra" / "config.yaml", OmegaConf.to_yaml(cfg))
        # An unfinished run's record (its history) is kept until training goes on, so a resume
        # that fails to start (bad data, corrupt last.pt) does not wipe it.
        kept = {k: v for k, v in _read_json(self.metrics).items() if k not in ("error", "traceback")} \
            if previous and resume else {}
        self.record = {**kept, **header, "status": "running", "run_dir": str(self.path)}
        self.save()
        return None

    def resume_state(self, device) -> dict | None:
        """The training state in last.pt when resuming, else None."""
        return load_checkpoint(self.last, device) if self.last.exists() else None

    def save(self) -> None:
        """Write the record: metrics.json, and robustness.csv once it has its curve (atomically)."""
        write_record(self.path, self.record)

    @contextmanager
    def recording(self, t0: float) -> Iterator[dict]:
        """Yield the record; on the way out set its status (completed, interrupted, failed) and save it."""
        cpu0 = time.process_time()
        try:
            yield self.record
            self.record["status"] = "completed"
        except Interrupted as e:
            self.record.update(status="interrupted", error=str(e))
            raise
        except DrsnError as e:
            self.record.update(status="failed", error=str(e))
            raise
        except BaseException as e:
            self.record.update(status="failed", error=f"{type(e).__name__}: {e}",
                               traceback=traceback.format_exc(limit=8))
            raise
        finally:
            timings = self.record.setdefault("timings", {})
            timings.update(total_s=round(time.perf_counter() - t0, 3), cpu_s=round(time.process_time() - cpu0, 3))
            self.save()

    def refused(self, error: str) -> None:
        """Record a run refused before it claimed the folder (a sweep's report then lists it)."""
        if not self.metrics.exists():
            write_record(self.path, {"status": "failed", "error": error, "run_dir": str(self.path)})
