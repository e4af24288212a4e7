"""The sweep report (drsn-report)."""

from __future__ import annotations

from pathlib import Path

from drsn_fd.errors import DrsnError


def make_report(paths: list[Path], out: Path | None = None) -> str:
    raise DrsnError("drsn-report is not implemented yet")
