"""Noise at an exact SNR: one module per kind in `kinds/`, registered by name (`registry`), and
the one SNR rule that rescales every kind (`snr`). Torch loads on the first draw, not on import.
"""

from drsn_fd.data.noise import kinds  # noqa: F401  (registers the kinds)
from drsn_fd.data.noise.kinds.impulsive import impulsive
from drsn_fd.data.noise.kinds.student_t import student_t
from drsn_fd.data.noise.registry import (
    NO_NOISE,
    NoiseKind,
    Param,
    check_noise_params,
    list_noise_kinds,
    noise_defaults,
    noise_kind,
    register_noise,
    registered_params,
)
from drsn_fd.data.noise.snr import add_noise, derived_seed, generator, realised_snr_db, unit_noise

__all__ = ["NO_NOISE", "NoiseKind", "Param", "add_noise", "check_noise_params", "derived_seed", "generator",
           "impulsive", "list_noise_kinds", "noise_defaults", "noise_kind", "realised_snr_db", "registered_params",
           "register_noise", "student_t", "unit_noise"]
