"""How a run computes: seeds, determinism and threads (the device and switches: evaluate/device.py)."""

from __future__ import annotations

import os
import time

import numpy as np
import torch


def set_deterministic(on: bool) -> None:
    """trainer.deterministic: deterministic kernels only (an op without one raises), fixed cuDNN choice."""
    if on:  # cuBLAS needs a fixed workspace to be deterministic; read when cuBLAS starts
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    if on:
        torch.backends.cudnn.benchmark = False


def seed_everything(seed: int) -> None:
    """One seed for torch (every device) and numpy."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def free_cores(sample_s: float = 0.25) -> int:
    """The cores idle now: the idle share of /proc/stat over `sample_s` seconds times the core count
    (at least 1). Without /proc/stat (not Linux), every core the process may use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    def idle_total() -> tuple[int, int]:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, all

    try:
        i0, t0 = idle_total()
        time.sleep(sample_s)
        i1, t1 = idle_total()
    except (OSError, ValueError, IndexError):
        return cores
    machine = os.cpu_count() or cores
    idle = machine * (i1 - i0) / max(t1 - t0, 1)
    return max(1, min(cores, int(idle + 0.5)))


def set_threads(threads: object) -> int:
    """trainer.threads: a number, 'auto' (the cores free at start) or null (torch's default)."""
    if threads == "auto":
        torch.set_num_threads(free_cores())
    elif threads is not None:
        torch.set_num_threads(int(threads))
    return torch.get_num_threads()
