"""Atomic file writes: a crash never leaves a half-written file that looks complete."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: the process's umask


def _atomic(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual mode of a new file
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temporary name, then rename)."""
    data = json.dumps(obj, indent=2, default=_jsonable).encode()
    _atomic(path, lambda f: f.write(data))


def write_text(path: Path, text: str) -> None:
    """Write text atomically."""
    _atomic(path, lambda f: f.write(text.encode()))


def save_figure(path: Path, fig: Any, dpi: int = 130) -> None:
    """Save a matplotlib figure atomically (format from the suffix), then close it."""
    import matplotlib.pyplot as plt

    try:
        _atomic(path, lambda f: fig.savefig(f, format=Path(path).suffix.lstrip(".") or "png", dpi=dpi,
                                          bbox_inches="tight"))
    finally:
        plt.close(fig)


def torch_save(path: Path, obj: Any) -> None:
    """torch.save atomically."""
    import torch  # here: a config check, which writes no tensor, runs before torch loads

    _atomic(path, lambda f: torch.save(obj, f))


def _jsonable(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
