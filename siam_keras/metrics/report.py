"""`metrics_report`: one dict, in the layout of `metrics.json`, from predictions and labels."""

import importlib

from siam_keras import vocabulary
from siam_keras.metrics.attribute_metrics import attribute_metrics, coverage_note
from siam_keras.runtime.output_kinds import KINDS, kinds_by_output


def kind_metrics(kind):
    """The module of `siam_keras.metrics` that scores an `OutputKind` (its `metrics`):
    `report(labels, values, kind)` and `ground_truth(learned, true, names, kind)`."""
    return importlib.import_module(f"siam_keras.metrics.{kind.metrics}")


def output_report(kind, labels, values):
    """One output's metrics: (N, ...) labels (missing ones left out) against its values,
    and `kind`, the kind's name (which `format_report` reads its console rows by)."""
    return {"kind": kind.name, **kind_metrics(kind).report(labels, values, kind)}


def metrics_report(predictions, targets, output_names, attribute_names=None,
                   true_contributions=None, output_classes=None, output_kinds=None):
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
        output_kinds: {output: OutputKind}; each is scored by its kind's metrics
            module (`kind_metrics`): a classification output's targets are (N,) class
            indices (< 0: missing), its predictions (N, C) logits. Outputs left out
            are regression outputs.
        output_classes: {output: class names}: the older spelling of classification
            kinds.

    Returns:
        {"outputs": {name: its kind's report, e.g. {kendall_tau, spearman, rmse, r2},
                     or for a classification output {accuracy, top5_accuracy,
                     macro_f1, recall}},
         "attributes": `attribute_metrics` (AP, Spearman, ...),        (SIAM only)
         "ground_truth": {"effect_rank_tau", "outputs": {name: {...}}}} (when known)
    """
    kinds = kinds_by_output(output_names, output_kinds, output_classes)
    report = {"outputs": _output_reports(predictions, targets, output_names, kinds)}
    if (
        attribute_names is not None
        and vocabulary.ATTRIBUTE_SCORES in predictions
        and targets.get("attributes") is not None
    ):
        report["attributes"] = attribute_metrics(
            targets["attributes"], predictions[vocabulary.ATTRIBUTE_SCORES], attribute_names
        )
    if true_contributions is not None and attribute_names is not None:
        ground_truth = _ground_truth_report(predictions, true_contributions, output_names,
                                            attribute_names, kinds)
        if ground_truth:
            report["ground_truth"] = ground_truth
    return report


def _output_reports(predictions, targets, output_names, kinds):
    """{output: its kind's report}; raises ValueError if an output lacks its predictions
    or its targets."""
    reports = {}
    for name in output_names:
        if name not in predictions or name not in targets:
            raise ValueError(
                f"Output {name!r} is missing from the predictions or the targets. "
                f"Predictions have {sorted(predictions)}, targets {sorted(targets)}"
            )
        reports[name] = output_report(kinds[name], targets[name], predictions[name])
    return reports


def _ground_truth_report(predictions, true_contributions, output_names, attribute_names, kinds):
    """`ground_truth`: each output's learned contributions against the true ones (by its
    kind's measure), and the first regression output's `effect_rank_tau` (None if there
    is none); an empty dict if no output has both."""
    per_output = {}
    for name in output_names:
        learned = predictions.get(vocabulary.contributions_key(name))
        if learned is None or name not in true_contributions:
            continue
        per_output[name] = kind_metrics(kinds[name]).ground_truth(
            learned, true_contributions[name], attribute_names, kinds[name])
    if not per_output:
        return {}
    regression = [v for v in per_output.values() if "effect_rank_tau" in v]
    first = regression[0] if regression else {"effect_rank_tau": None}
    return {"effect_rank_tau": first["effect_rank_tau"], "outputs": per_output}


def format_report(report):
    """A plain-text table of a report (and of its `baseline` section, if any)."""
    rows = [("", "", "SIAM" if "attributes" in report else "model", "baseline")]
    baseline = report.get("baseline", {}).get("outputs", {})

    def cell(value):
        return "-" if value is None or value != value else f"{value:.3f}"  # None, NaN: none

    for name, values in report["outputs"].items():
        # The console rows of the entry's kind (a report written before 0.3 has no
        # `kind`: the kind whose first metric it has).
        kind = KINDS.get(values.get("kind")) or next(
            (kind for kind in KINDS.values() if kind.keys[0] in values), None)
        keys = [key for key in (kind.keys if kind else ()) if key in values]
        for key in keys:
            rows.append((name, key, cell(values[key]), cell(baseline.get(name, {}).get(key))))
    attributes = report.get("attributes")
    if attributes:
        rows.append(("attributes", "mean_ap", cell(attributes["mean_ap"]), "-"))
        rows.append(("attributes", "mean_spearman", cell(attributes["mean_spearman"]), "-"))
    if "ground_truth" in report:
        rows.append(("ground_truth", "effect_rank_tau",
                     cell(report["ground_truth"]["effect_rank_tau"]), "-"))
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
