"""Models: the DRSN family and its baselines, registered by name."""

from drsn_fd.models import family, wdcnn  # noqa: F401  (registers the models)
from drsn_fd.models.registry import (
    create_model,
    list_models,
    model_entry,
    model_from_config,
    register_model,
)

__all__ = ["create_model", "list_models", "model_entry", "model_from_config", "register_model"]
