"""Metrics (NumPy and SciPy only)."""

from siam_keras.metrics.attribute_metrics import attribute_metrics
from siam_keras.metrics.average_precision import attribute_average_precision, average_precision
from siam_keras.metrics.classification import classification_report
from siam_keras.metrics.regression import (
    effect_rank_tau,
    kendall_tau,
    r2,
    regression_report,
    rmse,
    spearman,
)
from siam_keras.metrics.report import metrics_report

__all__ = [
    "attribute_average_precision",
    "attribute_metrics",
    "average_precision",
    "classification_report",
    "effect_rank_tau",
    "kendall_tau",
    "metrics_report",
    "r2",
    "regression_report",
    "rmse",
    "spearman",
]
