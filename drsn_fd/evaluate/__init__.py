"""Evaluation: metrics, robustness curves, sweep reports and plots."""
