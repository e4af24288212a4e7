"""Find the run that `trainer.resume=true` continues when the command is run again.

Hydra gives each invocation a new time-stamped folder. Resuming looks first in that
folder, then in the sibling run folders of the same layout (`<base>/<date>/<time>/<job>`)
for the newest unfinished run whose config equals this one.
"""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from drsn_fd.errors import CheckpointError, ConfigError

# Keys that may differ between the interrupted command and the one that resumes it.
IGNORED = (("trainer", "resume"), ("trainer", "threads"), ("trainer", "progress"), ("device",))
# What last.pt must hold to continue training (best.pt holds only weights).
RESUME_STATE = ("optimizer", "scheduler", "epoch", "step", "sums", "history", "best")


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


def _flat(tree: object, prefix: str = "") -> dict:
    """{'a': {'b': 1}} -> {'a.b': 1}."""
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree}
    out: dict = {}
    for k, v in tree.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def check_resumable(ckpt: dict, path: Path, cfg: DictConfig) -> None:
    """Refuse a checkpoint that cannot continue this run: no training state, or another config.

    Keys in IGNORED, `data.root` (the same files may sit elsewhere on another machine) and keys
    that only one of the two configs has (added by a newer version) may differ.
    """
    missing = [k for k in RESUME_STATE if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: not a resumable checkpoint (it has no {', '.join(missing)}); "
                              "delete it to start afresh")
    saved = _flat(_comparable(ckpt["config"]))
    now = _flat(_comparable(OmegaConf.to_container(cfg, resolve=True)))
    diff = [k for k in sorted(saved.keys() & now.keys()) if k != "data.root" and saved[k] != now[k]]
    if diff:
        shown = ", ".join(f"{k}={now[k]!r} (saved: {saved[k]!r})" for k in diff[:3])
        raise ConfigError(f"{path} was saved by a run with another config: {shown}"
                          f"{' ...' if len(diff) > 3 else ''}; resume with the same overrides, "
                          "or choose another hydra.run.dir")
