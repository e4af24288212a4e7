"""drsn_fd: deep residual shrinkage networks for fault diagnosis from noisy vibration."""

__version__ = "0.1.0"
