"""Training: configuration, losses, the loop, checkpoints."""
