"""The SNR rule, the one place it lives: every kind's draw rescaled to an exact power per window.

SNR_dB = 10 log10(P_signal / P_noise), with P_signal the mean square of each clean window.
Every draw is rescaled so that its realised power over the window is exactly
P_signal / 10^(SNR/10). Seeds derived from (seed, split, kind, snr, ...) make the same
windows on every machine. Torch is imported on the first draw, not when this module loads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from drsn_fd.data.noise.registry import NO_NOISE, check_noise_params, noise_kind

if TYPE_CHECKING:
    import torch


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
    import torch

    return torch.Generator(device=device).manual_seed(seed)


def unit_noise(shape: tuple[int, ...], kind: str, gen: torch.Generator,
               device: torch.device | str = "cpu", params: Mapping | None = None) -> torch.Tensor:
    """Noise of the registered `kind` (any scale): the last axis is time.

    `params` may hold any registered kind's parameters (impulse_rate, impulse_ratio, dof, ...);
    each is checked, and the kind draws with its own, or their defaults.
    """
    entry = noise_kind(kind)
    given = params or {}
    check_noise_params(given)
    own = {key: float(given.get(key, p.default)) for key, p in entry.params.items()}
    return entry.draw(shape, gen, device, **own)


def add_noise(x: torch.Tensor, snr_db: float | torch.Tensor, kind: str, gen: torch.Generator,
              params: Mapping | None = None) -> torch.Tensor:
    """x + noise whose power over each window is exactly P_signal(x) / 10^(snr_db/10).

    `snr_db` is a number, or a tensor of one SNR per window shaped like x[..., :1].
    `params` holds the kinds' parameters (see unit_noise). Kind 'none' (or no SNR) returns x.
    """
    import torch

    if kind == NO_NOISE or snr_db is None:
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
    return 10 * (p_s / p_n).log10()
