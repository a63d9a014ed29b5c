"""`attribute_metrics`: every attribute scored with a metric that fits its labels.

Attribute labels come binary (0 or 1), as SUN Attributes' votes (0, 1/3, 2/3, 1), or
graded (any value in [0, 1]: a share of the photo, a confidence). Average precision
needs positives and negatives; on graded labels few rows are exactly 0, so AP with
SUN's protocol covered only the binary-labelled attributes while the console's mean
looked like all of them. Here each attribute gets:

- AP (SUN protocol: labels >= 2/3 positive, 0 negative, 1/3 left out) when its labels
  are binary or votes;
- Spearman's rank correlation of its scores with its labels, whatever its labels
  (graded ones have it as their metric);

and the report says how many attributes each mean covers.
"""

import numpy as np

from siam_keras.metrics.attribute_arrays import attribute_array_pair
from siam_keras.metrics.average_precision import attribute_average_precision
from siam_keras.metrics.regression import spearman

#: Label values of a voted attribute (SUN Attributes: 0 to 3 votes of 3), and how far a
#: label may be from one (0.33 and 0.67 in a CSV are votes).
VOTE_LEVELS = (0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0)
VOTE_TOLERANCE = 0.01


def label_kind(labels):
    """"binary" (only 0 and 1), "votes" (0, 1/3, 2/3, 1; written to two decimals too),
    "graded" (other values), or "missing" (none)."""
    known = np.asarray(labels, dtype="float64")
    known = known[~np.isnan(known)]
    if known.size == 0:
        return "missing"
    if np.all((known == 0) | (known == 1)):
        return "binary"
    near = np.min(np.abs(known[:, None] - np.asarray(VOTE_LEVELS)[None]), axis=1)
    return "votes" if np.all(near <= VOTE_TOLERANCE) else "graded"


def attribute_metrics(labels, scores, attribute_names):
    """Per-attribute metrics that fit each attribute's labels.

    Args:
        labels: (N, K) labels in [0, 1]; NaN marks a missing label.
        scores: (N, K) predicted attribute scores.
        attribute_names: K names.

    Returns:
        {"mean_ap": mean of the APs, "ap": {name: AP or NaN},
         "mean_spearman": mean of the rank correlations, "spearman": {name: rho or NaN},
         "label_kinds": {name: "binary", "votes", "graded" or "missing"},
         "num_attributes": K, "num_ap": attributes with an AP,
         "num_spearman": attributes with a rank correlation}.
        AP is NaN for graded labels and where there are no positives or no
        negatives; Spearman is NaN where the labels or the scores are constant.
    """
    labels, scores = attribute_array_pair(labels, scores, attribute_names, "labels and scores")
    kinds = {name: label_kind(labels[:, k]) for k, name in enumerate(attribute_names)}
    ap = attribute_average_precision(labels, scores, attribute_names)["ap"]
    rho = {}
    for k, name in enumerate(attribute_names):
        if kinds[name] == "graded":
            ap[name] = float("nan")  # thresholds would discard what the grades say
        known = ~np.isnan(labels[:, k])
        rho[name] = spearman(labels[known, k], scores[known, k]) if known.sum() >= 2 else float(
            "nan")
    with_ap = [value for value in ap.values() if not np.isnan(value)]
    with_rho = [value for value in rho.values() if not np.isnan(value)]
    return {"mean_ap": float(np.mean(with_ap)) if with_ap else float("nan"), "ap": ap,
            "mean_spearman": float(np.mean(with_rho)) if with_rho else float("nan"),
            "spearman": rho, "label_kinds": kinds, "num_attributes": len(attribute_names),
            "num_ap": len(with_ap), "num_spearman": len(with_rho)}


def coverage_note(report):
    """The line saying what the attribute means cover, e.g. "attributes: mean_ap over 2 of
    5 (3 have graded labels: Spearman only); mean_spearman over 5 of 5"."""
    total = report["num_attributes"]
    graded = sum(kind == "graded" for kind in report["label_kinds"].values())
    why = []
    if graded:
        why.append(f"{graded} {'has' if graded == 1 else 'have'} graded labels: Spearman only")
    left = total - report["num_ap"] - graded
    if left:
        why.append(f"{left} without both positive and negative labels")
    because = f" ({'; '.join(why)})" if why else ""
    return (f"attributes: mean_ap over {report['num_ap']} of {total}{because}; "
            f"mean_spearman over {report['num_spearman']} of {total}")
