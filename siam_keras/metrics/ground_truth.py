"""`effect_rank_tau` under its name before 0.3; it lives in `siam_keras.metrics.regression`,
the metrics of regression outputs, now."""

from siam_keras.metrics.regression import effect_rank_tau

__all__ = ["effect_rank_tau"]
