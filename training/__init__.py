"""The training pipeline: `siam-train --config NAME` (`python -m training` in the repository)."""
