"""CPU threads: trainer.threads=auto takes the cores idle at start; bad values are refused."""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import pytest
import torch

from drsn_fd.errors import ConfigError
from drsn_fd.train.device import free_cores, set_threads
from drsn_fd.validate import check_config
from tests.helpers import make_cfg


def _spin(stop):
    while not stop.is_set():
        pass


def test_free_cores_is_between_one_and_the_usable_cores():
    assert 1 <= free_cores(0.1) <= len(os.sched_getaffinity(0))


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to see one of them taken")
def test_free_cores_counts_a_core_that_another_process_keeps_busy():
    cores = len(os.sched_getaffinity(0))
    stop = mp.Event()
    busy = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(cores)]
    for p in busy:
        p.start()
    try:
        time.sleep(0.3)
        assert free_cores(0.3) < cores  # every core spinning: auto leaves them their share
    finally:
        stop.set()
        for p in busy:
            p.join()


def test_set_threads_auto_number_and_null():
    before = torch.get_num_threads()
    try:
        assert set_threads(1) == 1 == torch.get_num_threads()
        assert 1 <= set_threads("auto") <= len(os.sched_getaffinity(0))
        assert set_threads(None) == torch.get_num_threads()  # null leaves torch's setting alone
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("value", ["0", "many", "-2"])
def test_bad_thread_settings_are_refused(value):
    with pytest.raises(ConfigError, match="trainer.threads"):
        check_config(make_cfg(f"trainer.threads={value}"))
