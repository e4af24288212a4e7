"""Models: the DRSN family and its baselines, registered by name."""

from drsn_fd.models import family, wdcnn  # noqa: F401  (registers the models)
from drsn_fd.models.registry import build_model, create_model, list_models, register_model

__all__ = ["build_model", "create_model", "list_models", "register_model"]
