"""Find and read the runs of one or more sweeps: every metrics.json under each PATH.

A run that is not completed (failed, interrupted, still running, or a metrics.json that is
half-written or not JSON at all) is kept as a `Run` with its status and error, never raised.
What a record holds and lacks is `record.py`'s to say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from drsn_fd.errors import DrsnError
from drsn_fd.evaluate.record import RecordError, missing, read_record

UNREADABLE = "unreadable"


@dataclass
class Run:
    """One run folder: where it is, its status, its error, and its metrics when completed."""

    folder: str  # the run folder, relative to the PATH it was found under
    status: str  # completed | running | failed | interrupted | unreadable | incomplete | ...
    error: str = ""
    metrics: dict = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.status == "completed"


def find_metrics(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(PATH, metrics.json) for every metrics.json under each PATH, each file once, sorted."""
    found: dict[Path, tuple[Path, Path]] = {}
    for root in map(Path, paths):
        if not root.exists():
            raise DrsnError(f"{root} does not exist (give a sweep folder or a run folder)")
        if root.is_file():
            if root.name != "metrics.json":
                raise DrsnError(f"{root} is a file; give a sweep folder, a run folder, a metrics.json "
                               "or a report's runs.csv")
            files = [root]
            root = root.parent
        else:
            files = sorted(root.rglob("metrics.json"))
        for f in files:
            found.setdefault(f.resolve(), (root, f))
    return list(found.values())


def read_run(root: Path, path: Path, prefix: str = "") -> Run:
    """The run of one metrics.json; a corrupt or partial file gives a Run with the reason."""
    rel = path.parent.relative_to(root).as_posix()
    if rel != ".":
        folder = prefix + rel
    else:  # the PATH is the run folder itself: named once
        folder = prefix.rstrip("/") or path.parent.resolve().name
    try:
        m = read_record(path)
    except RecordError as e:
        return Run(folder, UNREADABLE, str(e))
    status = str(m.get("status") or "unknown")
    error = str(m.get("error") or "").strip().splitlines()
    error = error[0] if error else ""
    if status != "completed":
        return Run(folder, status, error or _progress(m), m)
    lacks = missing(m)
    if lacks:
        return Run(folder, "incomplete", f"completed, but metrics.json lacks {lacks}", m)
    return Run(folder, status, "", m)


def collect(paths: list[Path], named: bool = False) -> list[Run]:
    """Every run under the PATHs; DrsnError when there is no metrics.json at all.

    A run's folder is relative to its PATH, prefixed with the PATH where there are several (or `named`)."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise DrsnError("no PATH given: nothing to report")
    found = find_metrics(paths)
    if not found:
        where = ", ".join(map(str, paths))
        raise DrsnError(f"no metrics.json under {where}: nothing to report (give a sweep folder "
                        "or a run folder of drsn-train)")
    several = named or len({root for root, _ in found}) > 1
    return [read_run(root, f, f"{root.as_posix()}/" if several else "") for root, f in found]


def _progress(m: dict) -> str:
    """'epoch 3/30' for a run that has not finished, from its history."""
    history, cfg = m.get("history"), m.get("config")
    trainer = cfg.get("trainer") if isinstance(cfg, dict) else None
    epochs = trainer.get("epochs") if isinstance(trainer, dict) else None
    if isinstance(history, list) and history:
        return f"stopped or still going at epoch {len(history)}" + (f"/{epochs}" if epochs else "")
    return ""

