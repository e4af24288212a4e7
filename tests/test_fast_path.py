"""The fast options compute the same thing as the plain path."""

import pytest
import torch

from drsn_fd.train.loop import run


@pytest.mark.slow
def test_compiled_run_matches_eager_run(tmp_path, cfg_factory):
    eager = run(cfg_factory("model=drsn_cw", "trainer.compile=false"), tmp_path / "eager")
    fast = run(cfg_factory("model=drsn_cw", "trainer.compile=true"), tmp_path / "fast")
    assert (eager["compiled"], fast["compiled"], eager["bf16"], fast["bf16"]) == (False, True, False, False)
    for a, b in zip(eager["history"], fast["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-3)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-3)
    assert abs(eager["test"]["best"]["acc"] - fast["test"]["best"]["acc"]) <= 0.02


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (CI has none)")


@cuda
@pytest.mark.cuda
def test_cuda_fast_run_matches_cpu_run(tmp_path, cfg_factory):
    cpu = run(cfg_factory("model=drsn_cw", "device=cpu", "trainer.epochs=3"), tmp_path / "cpu")
    gpu = run(cfg_factory("model=drsn_cw", "device=cuda", "trainer.epochs=3"), tmp_path / "gpu")
    assert gpu["device"].startswith("cuda") and gpu["bf16"] and not cpu["bf16"]  # trainer.amp=auto
    # bf16 autocast and other kernels: close, not bit-equal
    assert abs(cpu["test"]["best"]["acc"] - gpu["test"]["best"]["acc"]) <= 0.1
    assert gpu["history"][-1]["train_loss"] == pytest.approx(cpu["history"][-1]["train_loss"], rel=0.2)


@cuda
@pytest.mark.cuda
def test_cuda_test_noise_equals_cpu_test_noise(cfg_factory):
    from drsn_fd.data.pipeline import NoisyWindows
    from drsn_fd.data.windows import build_windows

    cfg = cfg_factory()
    ws = build_windows(cfg.data)
    a = NoisyWindows(ws, cfg, torch.device("cpu")).fixed("test", "gaussian", -4.0)
    b = NoisyWindows(ws, cfg, torch.device("cuda")).fixed("test", "gaussian", -4.0).cpu()
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
