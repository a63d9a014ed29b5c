"""Regression metrics of this line of work: Kendall's tau (the main one), Spearman, RMSE, R^2;
and learned effects against a true scoring rule (`effect_rank_tau`)."""

import warnings

import numpy as np
from scipy import stats

from siam_keras.metrics.attribute_arrays import attribute_array_pair


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


def report(labels, values, kind):
    """A regression output's metrics (`OutputKind.metrics` names this module): the
    known labels' (NaN: missing) `regression_report` and their count."""
    y_true = np.asarray(labels, dtype="float64").ravel()
    y_pred = np.asarray(values, dtype="float64").ravel()
    known = ~np.isnan(y_true)
    return {"num_images": int(known.sum()), **regression_report(y_true[known], y_pred[known])}


def ground_truth(learned, true, attribute_names, kind):
    """Learned (N, K) contributions against the true rule's: `effect_rank_tau`."""
    return effect_rank_tau(learned, true, attribute_names)


def effect_rank_tau(learned_contributions, true_contributions, attribute_names):
    """Do the learned per-attribute effects rank like the true ones?

    The effect of an attribute is its mean contribution over the images. Returns
    Kendall's tau between the K learned and the K true effects, and both lists.

    Args:
        learned_contributions: (N, K) contributions predicted by the model.
        true_contributions: (N, K) contributions of the true rule on the same images.
        attribute_names: K names.
    """
    learned, true = attribute_array_pair(
        learned_contributions, true_contributions, attribute_names, "Contributions"
    )
    learned_effects, true_effects = learned.mean(axis=0), true.mean(axis=0)
    return {
        "effect_rank_tau": kendall_tau(true_effects, learned_effects),
        "learned_effects": dict(zip(attribute_names, map(float, learned_effects))),
        "true_effects": dict(zip(attribute_names, map(float, true_effects))),
    }

