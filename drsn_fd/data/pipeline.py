"""The device pipeline: a run's windows on its device, made noisy at an exact SNR and normalised.

Train noise is drawn afresh each epoch on the device (or once, with `noise.fixed_train`), from
`seeds.train_noise` where set; val and test noise come from a CPU generator seeded by (seed,
split, kind, snr), so every model and every device sees the very same noisy windows.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from omegaconf import DictConfig, OmegaConf

from drsn_fd.data.noise import add_noise, derived_seed, generator, noise_defaults
from drsn_fd.data.normalize import normalize
from drsn_fd.data.seeds import part_seed
from drsn_fd.data.windows import WindowSet


def train_snr(noise: DictConfig | Mapping):
    """The training SNR: a number, [lo, hi] (one SNR per window), or None (train clean)."""
    if noise.get("kind") == "none":
        return None
    ts = noise.get("train_snr")
    return OmegaConf.to_container(ts) if OmegaConf.is_config(ts) else ts


def test_snr(noise: DictConfig | Mapping) -> float | None:
    """The SNR of the test split: noise.snr, or None for a clean run."""
    return None if noise.get("kind") == "none" or noise.get("snr") is None else float(noise["snr"])


def noise_params(noise: DictConfig | Mapping) -> dict:
    """The registered kinds' parameters the noise config sets (impulse rate and ratio, dof, ...)."""
    return {k: noise[k] for k in noise_defaults() if noise.get(k) is not None}


class NoisyWindows:
    """The windows of a run on its device, and their noisy, normalised versions."""

    def __init__(self, ws: WindowSet, cfg: DictConfig, device: torch.device):
        self.device, self.seed = device, int(cfg.seed)
        self.train_seed = part_seed(cfg, "train_noise")
        self.kind, self.train_snr = cfg.noise.kind, train_snr(cfg.noise)
        self.fixed_train = bool(cfg.noise.fixed_train)
        self.params = noise_params(cfg.noise)
        self.norm = cfg.data.normalize
        self.cpu = {s: torch.from_numpy(sp.x).unsqueeze(1) for s, sp in ws.splits.items()}
        self.y = {s: torch.from_numpy(sp.y).to(device) for s, sp in ws.splits.items()}
        self.x_train = self.cpu["train"].to(device)
        self._fixed: torch.Tensor | None = None
        self._cache: dict = {}

    def _noisy(self, x: torch.Tensor, snr, kind: str, gen: torch.Generator) -> torch.Tensor:
        if kind == "none" or snr is None:
            return x
        if isinstance(snr, (list, tuple)):  # mixed protocol: one SNR per window
            lo, hi = snr
            snr = torch.empty(x.shape[0], 1, 1, device=x.device).uniform_(lo, hi, generator=gen)
        return add_noise(x, snr, kind, gen, self.params)

    def train_epoch(self, epoch: int) -> torch.Tensor:
        """Normalised noisy training windows for `epoch`, on the device."""
        if self.fixed_train:
            if self._fixed is None:
                gen = generator(derived_seed(self.train_seed, "train", self.kind, self.train_snr, "fixed"), self.device)
                self._fixed = normalize(self._noisy(self.x_train, self.train_snr, self.kind, gen), self.norm)
            return self._fixed
        gen = generator(derived_seed(self.train_seed, "train", self.kind, self.train_snr, epoch), self.device)
        return normalize(self._noisy(self.x_train, self.train_snr, self.kind, gen), self.norm)

    def fixed(self, split: str, kind: str, snr) -> torch.Tensor:
        """Normalised noisy windows of val or test at (kind, snr), the same for every model."""
        key = (split, kind, tuple(snr) if isinstance(snr, list) else snr)
        if key not in self._cache:
            gen = generator(derived_seed(self.seed, split, kind, key[2]), "cpu")
            noisy = self._noisy(self.cpu[split], snr, kind, gen)
            self._cache[key] = normalize(noisy.to(self.device), self.norm)
        return self._cache[key]

    def val(self) -> torch.Tensor:
        """The validation windows, noisy as in training (clean when training is clean)."""
        return self.fixed("val", self.kind if self.train_snr is not None else "none", self.train_snr)
