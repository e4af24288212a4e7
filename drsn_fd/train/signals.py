"""Stop signals become a flag the training loop checks after each step."""

from __future__ import annotations

import signal
import threading

# SIGINT (Ctrl-C), SIGTERM (kill, scancel, a SLURM time limit or preemption) and SIGUSR2 (the
# warning that submitit has SLURM send hydra.launcher.signal_delay_s before a job's time limit).
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGUSR2") if hasattr(signal, n))


class Interrupted(Exception):
    """A stop signal arrived; last.pt holds the last finished epoch."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class StopSignals:
    """While entered, a stop signal sets `signum` instead of killing the process; `check()` raises."""

    def __init__(self):
        self.signum: int | None = None
        self._old: dict = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.signum = signum

    def check(self) -> None:
        """Raise Interrupted if a stop signal has arrived."""
        if self.signum is not None:
            raise Interrupted(self.signum)

    def __exit__(self, *exc) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)
