"""student_t: heavy-tailed Student-t noise (lower degrees of freedom: heavier tails)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drsn_fd.data.noise.registry import Param, register_noise

if TYPE_CHECKING:
    import torch

DOF = Param(3.0, lambda v: v > 2, "a finite number > 2: Student-t degrees of freedom")


@register_noise("student_t", order=4, params={"dof": DOF})
def student_t(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str = "cpu",
              dof: float = DOF.default) -> torch.Tensor:
    """Student-t noise: z / sqrt(chi2(dof) / dof), with chi2(dof) = 2 Gamma(dof / 2) drawn from `gen`."""
    import torch

    z = torch.randn(shape, generator=gen, device=device)
    g = torch._standard_gamma(torch.full(shape, dof / 2, device=device), generator=gen)
    return z * (dof / (2 * g)).sqrt()
