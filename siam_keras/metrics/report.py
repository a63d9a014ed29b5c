"""`metrics_report`: one dict, in the layout of `metrics.json`, from predictions and labels."""

import numpy as np

from siam_keras import vocabulary
from siam_keras.metrics.attribute_metrics import attribute_metrics, coverage_note
from siam_keras.metrics.classification import classification_report
from siam_keras.metrics.contributions import class_contribution_r
from siam_keras.metrics.ground_truth import effect_rank_tau
from siam_keras.metrics.regression import regression_report


def metrics_report(predictions, targets, output_names, attribute_names=None, true_contributions=None,
                   output_classes=None):
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
        output_classes: {output: class names} of the classification outputs: their
            targets are (N,) class indices (< 0: missing), their predictions (N, C)
            logits, and they are scored with `classification_report`.

    Returns:
        {"outputs": {name: {kendall_tau, spearman, rmse, r2}, or for a classification
                     output {accuracy, top5_accuracy, macro_f1, recall}},
         "attributes": `attribute_metrics` (AP, Spearman, ...),        (SIAM only)
         "ground_truth": {"effect_rank_tau", "outputs": {name: {...}}}} (when known)
    """
    report, output_classes = {"outputs": {}}, dict(output_classes or {})
    for name in output_names:
        if name not in predictions or name not in targets:
            raise ValueError(
                f"Output {name!r} is missing from the predictions or the targets. "
                f"Predictions have {sorted(predictions)}, targets {sorted(targets)}"
            )
        if name in output_classes:
            report["outputs"][name] = classification_report(targets[name], predictions[name],
                                                            output_classes[name])
            continue
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
        report["attributes"] = attribute_metrics(
            targets["attributes"], predictions[vocabulary.ATTRIBUTE_SCORES], attribute_names
        )
    if true_contributions is not None and attribute_names is not None:
        per_output = {}
        for name in output_names:
            learned = predictions.get(vocabulary.contributions_key(name))
            if learned is None or name not in true_contributions:
                continue
            if name in output_classes:
                per_output[name] = {"contribution_r": class_contribution_r(
                    learned, true_contributions[name], attribute_names)["mean"]}
            else:
                per_output[name] = effect_rank_tau(learned, true_contributions[name],
                                                   attribute_names)
        regression = [v for v in per_output.values() if "effect_rank_tau" in v]
        if per_output:
            first = regression[0] if regression else {"effect_rank_tau": None}
            report["ground_truth"] = {"effect_rank_tau": first["effect_rank_tau"], "outputs": per_output}
    return report


CLASSIFICATION_KEYS = ("accuracy", "top5_accuracy", "macro_f1")


def format_report(report):
    """A plain-text table of a report (and of its `baseline` section, if any)."""
    rows = [("", "", "SIAM" if "attributes" in report else "model", "baseline")]
    baseline = report.get("baseline", {}).get("outputs", {})

    def cell(value):
        return "-" if value is None or value != value else f"{value:.3f}"  # None, NaN: none

    for name, values in report["outputs"].items():
        keys = [k for k in CLASSIFICATION_KEYS if k in values] if "accuracy" in values else \
            ("kendall_tau", "spearman", "rmse", "r2")
        for key in keys:
            rows.append((name, key, cell(values[key]), cell(baseline.get(name, {}).get(key))))
    attributes = report.get("attributes")
    if attributes:
        rows.append(("attributes", "mean_ap", cell(attributes["mean_ap"]), "-"))
        rows.append(("attributes", "mean_spearman", cell(attributes["mean_spearman"]), "-"))
    if "ground_truth" in report:
        rows.append(("ground_truth", "effect_rank_tau", cell(report["ground_truth"]["effect_rank_tau"]), "-"))
        for name, values in report["ground_truth"]["outputs"].items():
            if "contribution_r" in values:
                rows.append((f"ground_truth {name}", "contribution_r",
                             cell(values["contribution_r"]), "-"))
    if not baseline:
        rows = [r[:3] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if attributes:
        lines.append(coverage_note(attributes))
    return "\n".join(lines)
