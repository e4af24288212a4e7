"""Find the run that `trainer.resume=true` continues when the command is run again.

Hydra gives each invocation a new time-stamped folder. Resuming looks first in that
folder, then in the sibling run folders of the same layout (`<base>/<date>/<time>/<job>`)
for the newest unfinished run whose config equals this one.
"""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

# Keys that may differ between the interrupted command and the one that resumes it.
IGNORED = (("trainer", "resume"), ("trainer", "threads"), ("trainer", "progress"), ("device",))


def _comparable(config: dict) -> dict:
    config = json.loads(json.dumps(config))
    for path in IGNORED:
        node = config
        for k in path[:-1]:
            node = node.get(k, {})
        node.pop(path[-1], None)
    return config


def find_resumable(cfg: DictConfig, out: Path, job_subdir: str = "") -> Path | None:
    """The newest unfinished run folder with the same config as `cfg`, or None."""
    if (out / "checkpoints" / "last.pt").exists():
        return out
    run_root = out.parents[len(Path(job_subdir).parts)] if job_subdir else out
    base = run_root.parents[1] if len(run_root.parents) > 1 else None
    if base is None or not base.is_dir():
        return None
    want = _comparable(OmegaConf.to_container(cfg, resolve=True))
    found = []
    for last in base.glob(f"*/*/{job_subdir + '/' if job_subdir else ''}checkpoints/last.pt"):
        folder = last.parent.parent
        try:
            rec = json.loads((folder / "metrics.json").read_text())
        except (OSError, ValueError):
            continue
        if rec.get("status") != "completed" and _comparable(rec.get("config", {})) == want:
            found.append((last.stat().st_mtime, folder))
    return max(found)[1] if found else None
