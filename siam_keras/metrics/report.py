"""`metrics_report`: one dict, in the layout of `metrics.json`, from predictions and labels."""

import numpy as np

from siam_keras import vocabulary
from siam_keras.metrics.average_precision import attribute_average_precision
from siam_keras.metrics.ground_truth import effect_rank_tau
from siam_keras.metrics.regression import regression_report


def metrics_report(predictions, targets, output_names, attribute_names=None, true_contributions=None):
    """Evaluates a model's predictions on one split.

    Args:
        predictions: dict of NumPy arrays as a SIAM or baseline model returns
            them (`<output>`, and for SIAM `attribute_scores` and
            `<output>_contributions`).
        targets: dict with `<output>` (N,) and optionally `attributes` (N, K);
            NaN marks a missing label, which is left out.
        output_names: the outputs to evaluate.
        attribute_names: K names; attribute AP is reported when given and both
            `attribute_scores` and `attributes` are present.
        true_contributions: optional dict `<output>` -> (N, K) true contributions
            (synthetic data); adds `ground_truth`.

    Returns:
        {"outputs": {name: {kendall_tau, spearman, rmse, r2}},
         "attributes": {"mean_ap", "ap": {attribute: ap}},            (SIAM only)
         "ground_truth": {"effect_rank_tau", "outputs": {name: {...}}}} (when known)
    """
    report = {"outputs": {}}
    for name in output_names:
        if name not in predictions or name not in targets:
            raise ValueError(
                f"Output {name!r} is missing from the predictions or the targets. "
                f"Predictions have {sorted(predictions)}, targets {sorted(targets)}"
            )
        y_true = np.asarray(targets[name], dtype="float64").ravel()
        y_pred = np.asarray(predictions[name], dtype="float64").ravel()
        known = ~np.isnan(y_true)
        report["outputs"][name] = {
            "num_images": int(known.sum()),
            **regression_report(y_true[known], y_pred[known]),
        }
    if (
        attribute_names is not None
        and vocabulary.ATTRIBUTE_SCORES in predictions
        and targets.get("attributes") is not None
    ):
        report["attributes"] = attribute_average_precision(
            targets["attributes"], predictions[vocabulary.ATTRIBUTE_SCORES], attribute_names
        )
    if true_contributions is not None and attribute_names is not None:
        per_output = {
            name: effect_rank_tau(
                predictions[vocabulary.contributions_key(name)], true_contributions[name],
                attribute_names,
            )
            for name in output_names
            if vocabulary.contributions_key(name) in predictions and name in true_contributions
        }
        if per_output:
            first = next(iter(per_output.values()))
            report["ground_truth"] = {"effect_rank_tau": first["effect_rank_tau"], "outputs": per_output}
    return report


def format_report(report):
    """A plain-text table of a report (and of its `baseline` section, if any)."""
    rows = [("", "", "SIAM" if "attributes" in report else "model", "baseline")]
    baseline = report.get("baseline", {}).get("outputs", {})

    def cell(value):
        return "-" if value is None else f"{value:.3f}"

    for name, values in report["outputs"].items():
        for key in ("kendall_tau", "spearman", "rmse", "r2"):
            rows.append((name, key, cell(values[key]), cell(baseline.get(name, {}).get(key))))
    if "attributes" in report:
        rows.append(("attributes", "mean_ap", cell(report["attributes"]["mean_ap"]), "-"))
    if "ground_truth" in report:
        rows.append(("ground_truth", "effect_rank_tau", cell(report["ground_truth"]["effect_rank_tau"]), "-"))
    if not baseline:
        rows = [r[:3] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
