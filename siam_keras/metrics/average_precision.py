"""Per-attribute average precision with SUN Attributes' protocol."""

import numpy as np

from siam_keras.metrics.attribute_arrays import attribute_array_pair

#: SUN protocol: labels >= 2/3 are positives, 0 negatives; 1/3 is left out.
POSITIVE_THRESHOLD = 2.0 / 3.0 - 1e-6


def average_precision(labels, scores):
    """Average precision of binary `labels` ranked by `scores` (higher first).

    The area under the precision-recall step curve, sum_k P(k) * rel(k) / P,
    as in scikit-learn; tied scores are ranked pessimistically (negatives
    first), so the value never rewards ties. NaN when there is no positive.
    """
    labels = np.asarray(labels).astype(bool).ravel()
    scores = np.asarray(scores, dtype="float64").ravel()
    if labels.shape != scores.shape:
        raise ValueError(
            f"labels and scores must have the same length. Received: {labels.size} and {scores.size}"
        )
    num_positives = labels.sum()
    if num_positives == 0:
        return float("nan")
    # Sort by score descending; among equal scores, negatives come first.
    order = np.lexsort((labels, -scores))
    ranked = labels[order]
    sorted_scores = scores[order]
    # Precision is evaluated at the end of each group of tied scores.
    hits = np.cumsum(ranked)
    group_end = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    ends = np.nonzero(group_end)[0]
    precision = hits[ends] / (ends + 1)
    new_hits = np.diff(np.r_[0, hits[ends]])
    return float(np.sum(precision * new_hits) / num_positives)


def attribute_average_precision(labels, scores, attribute_names, positive_threshold=POSITIVE_THRESHOLD):
    """Per-attribute AP and mAP with the SUN protocol.

    Args:
        labels: (N, K) labels in [0, 1]; NaN marks a missing label.
        scores: (N, K) predicted attribute scores.
        attribute_names: K names.

    Returns:
        {"mean_ap": float, "ap": {name: float}}; attributes without positives or
        negatives get NaN and are left out of the mean.
    """
    labels, scores = attribute_array_pair(labels, scores, attribute_names, "labels and scores")
    ap = {}
    for k, name in enumerate(attribute_names):
        positive = labels[:, k] >= positive_threshold
        kept = positive | (labels[:, k] == 0)
        if positive[kept].all():
            ap[name] = float("nan")
            continue
        ap[name] = average_precision(positive[kept], scores[kept, k])
    values = [v for v in ap.values() if not np.isnan(v)]
    return {"mean_ap": float(np.mean(values)) if values else float("nan"), "ap": ap}
