"""Noise at an exact SNR, drawn with torch on the training device.

SNR_dB = 10 log10(P_signal / P_noise), with P_signal the mean square of each clean
window. Every draw is rescaled so that its realised power over the window is exactly
P_signal / 10^(SNR/10).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

import torch

from drsn_fd.data.noise_spec import KINDS, NOISE_DEFAULTS, check_noise_params, check_snr

__all__ = ["KINDS", "NOISE_DEFAULTS", "add_noise", "check_noise_params", "check_snr", "derived_seed",
           "generator", "impulsive", "realised_snr_db", "student_t", "unit_noise"]


def _canonical(part: object) -> object:
    """-4 and -4.0 are the same SNR, so they must give the same seed."""
    if isinstance(part, float) and part.is_integer():
        return int(part)
    if isinstance(part, (list, tuple)):
        return type(part)(_canonical(p) for p in part)
    return part


def derived_seed(*parts: object) -> int:
    """A stable 63-bit seed from (seed, split, kind, snr, ...): the same on every machine."""
    digest = hashlib.sha256(repr(tuple(_canonical(p) for p in parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on `device` seeded with `seed`."""
    return torch.Generator(device=device).manual_seed(seed)


def _params(params: Mapping | None) -> dict:
    out = {k: (params or {}).get(k, d) for k, d in NOISE_DEFAULTS.items()}
    check_noise_params(out)
    return {k: float(v) for k, v in out.items()}


def impulsive(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str = "cpu",
              rate: float = 0.01, ratio: float = 100.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(Bernoulli-Gaussian noise, its impulse mask): N(0, 1), plus N(0, ratio) where the mask is set."""
    mask = torch.rand(shape, generator=gen, device=device) < rate
    noise = torch.randn(shape, generator=gen, device=device)
    return noise + mask * (math.sqrt(ratio) * torch.randn(shape, generator=gen, device=device)), mask


def student_t(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str = "cpu",
              dof: float = 3.0) -> torch.Tensor:
    """Student-t noise: z / sqrt(chi2(dof) / dof), with chi2(dof) = 2 Gamma(dof / 2) drawn from `gen`."""
    z = torch.randn(shape, generator=gen, device=device)
    g = torch._standard_gamma(torch.full(shape, dof / 2, device=device), generator=gen)
    return z * (dof / (2 * g)).sqrt()


def unit_noise(shape: tuple[int, ...], kind: str, gen: torch.Generator,
               device: torch.device | str = "cpu", params: Mapping | None = None) -> torch.Tensor:
    """Noise of the given kind (any scale): the last axis is time.

    `params` may hold impulse_rate, impulse_ratio (impulsive) and dof (student_t); see NOISE_DEFAULTS.
    """
    if kind == "gaussian":
        return torch.randn(shape, generator=gen, device=device)
    if kind == "laplacian":  # the difference of two unit exponentials is Laplace(0, 1)
        e = torch.empty((2, *shape), device=device).exponential_(generator=gen)
        return e[0] - e[1]
    if kind == "pink":  # white noise shaped to a 1/f power spectral density
        n = shape[-1]
        white = torch.randn(shape, generator=gen, device=device)
        spec = torch.fft.rfft(white, dim=-1)
        f = torch.arange(spec.shape[-1], device=device, dtype=white.dtype)
        f[0] = 1.0  # the DC bin is removed below
        scale = f.rsqrt()
        scale[0] = 0.0
        return torch.fft.irfft(spec * scale, n=n, dim=-1)
    if kind == "impulsive":
        p = _params(params)
        return impulsive(shape, gen, device, p["impulse_rate"], p["impulse_ratio"])[0]
    if kind == "student_t":
        return student_t(shape, gen, device, _params(params)["dof"])
    raise ValueError(f"unknown noise kind {kind!r}; allowed: {', '.join(KINDS)}")


def add_noise(x: torch.Tensor, snr_db: float | torch.Tensor, kind: str, gen: torch.Generator,
              params: Mapping | None = None) -> torch.Tensor:
    """x + noise whose power over each window is exactly P_signal(x) / 10^(snr_db/10).

    `snr_db` is a number, or a tensor of one SNR per window shaped like x[..., :1].
    `params` holds the parameters of the impulsive and student_t kinds (see unit_noise).
    """
    if kind == "none" or snr_db is None:
        return x
    noise = unit_noise(tuple(x.shape), kind, gen, x.device, params)
    p_signal = x.pow(2).mean(-1, keepdim=True)
    p_noise = noise.pow(2).mean(-1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
    target = p_signal * 10 ** (-snr_db / 10)
    return x + noise * (target / p_noise).sqrt()


def realised_snr_db(clean: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
    """SNR in dB of each window, from its clean and noisy versions."""
    p_s = clean.double().pow(2).mean(-1)
    p_n = (noisy.double() - clean.double()).pow(2).mean(-1)
    return 10 * torch.log10(p_s / p_n)

