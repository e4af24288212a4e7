"""The Hydra config tree of drsn_fd (pkg://drsn_fd.configs); loading it registers its resolvers."""

from omegaconf import OmegaConf


def job_dir(override_dirname: str, seed: object) -> str:
    """A sweep job's folder: its overrides (seed excluded), then seed=N below it."""
    return f"{override_dirname or 'default'}/seed={seed}"


OmegaConf.register_new_resolver("drsn_job_dir", job_dir, replace=True)
