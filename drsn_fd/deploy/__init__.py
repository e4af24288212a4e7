"""Use a trained checkpoint: predict on new recordings and export for deployment."""
