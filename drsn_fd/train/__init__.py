"""Training: the loop, optimisation, checkpoints."""
