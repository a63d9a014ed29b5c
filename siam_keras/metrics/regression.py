"""Regression metrics of this line of work: Kendall's tau (the main one), Spearman, RMSE, R^2."""

import warnings

import numpy as np
from scipy import stats


def _pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype="float64").ravel()
    y_pred = np.asarray(y_pred, dtype="float64").ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same number of values. Received: "
            f"{y_true.size} and {y_pred.size}"
        )
    if y_true.size < 2:
        raise ValueError(f"At least 2 values are needed. Received: {y_true.size}")
    return y_true, y_pred


def kendall_tau(y_true, y_pred):
    """Kendall's tau-b (ties handled); NaN when either side is constant."""
    y_true, y_pred = _pair(y_true, y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)  # NaN says it
        return float(stats.kendalltau(y_true, y_pred).statistic)


def spearman(y_true, y_pred):
    """Spearman's rank correlation; NaN when either side is constant."""
    y_true, y_pred = _pair(y_true, y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(stats.spearmanr(y_true, y_pred).statistic)


def rmse(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def r2(y_true, y_pred):
    """Coefficient of determination, 1 - SS_res / SS_tot (can be negative)."""
    y_true, y_pred = _pair(y_true, y_pred)
    total = np.sum((y_true - y_true.mean()) ** 2)
    return float(1.0 - np.sum((y_true - y_pred) ** 2) / total) if total > 0 else float("nan")


def regression_report(y_true, y_pred):
    """{"kendall_tau", "spearman", "rmse", "r2"} for one output."""
    return {
        "kendall_tau": kendall_tau(y_true, y_pred),
        "spearman": spearman(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "r2": r2(y_true, y_pred),
    }
