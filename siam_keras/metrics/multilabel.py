"""Multi-label metrics: per-tag average precision (mAP), F1 at the kind's threshold, and
learned contributions against the true rule's (NumPy only)."""

import numpy as np

from siam_keras.metrics.average_precision import average_precision
from siam_keras.metrics.contributions import contribution_r


def report(labels, values, kind):
    """Scores (N, T) logits against (N, T) 0/1 labels (a row with a NaN is left out).

    Returns:
        {"num_images", "mean_ap" (over the tags with a positive), "ap": {tag: AP, NaN
         without a positive}, "micro_f1" and "macro_f1" of the tags predicted present
         (probability >= `kind.threshold`), "positives": {tag: count}}.
    """
    labels = np.asarray(labels, dtype="float64")
    logits = np.asarray(values, dtype="float64")
    tags = kind.labels
    if labels.shape != logits.shape or logits.ndim != 2 or logits.shape[1] != len(tags):
        raise ValueError(f"Expected (N, {len(tags)}) labels and logits for the tags {list(tags)}. "
                         f"Received: {labels.shape} and {logits.shape}")
    known = kind.known_rows(labels)
    truth, logits = labels[known] >= 0.5, logits[known]
    present = kind.probabilities(logits) >= kind.threshold
    ap = {tag: average_precision(truth[:, t], logits[:, t]) for t, tag in enumerate(tags)}
    defined = [v for v in ap.values() if np.isfinite(v)]
    hits = (truth & present).sum(axis=0)
    counted = truth.sum(axis=0) + present.sum(axis=0)
    f1 = [2 * h / n for h, n in zip(hits, counted) if n > 0]
    return {"num_images": int(known.sum()),
            "mean_ap": float(np.mean(defined)) if defined else float("nan"),
            "micro_f1": float(2 * hits.sum() / counted.sum()) if counted.sum() else float("nan"),
            "macro_f1": float(np.mean(f1)) if f1 else float("nan"),
            "ap": {tag: float(v) for tag, v in ap.items()},
            "positives": {tag: int(n) for tag, n in zip(tags, truth.sum(axis=0))}}


def ground_truth(learned, true, attribute_names, kind):
    """Learned (N, K, T) contributions against the true rule's.

    `contribution_r`: each image's K x T contributions correlated with the true ones, as
    `class_contribution_r` does for classes, but not centred over the tags (a sigmoid
    sees each tag's logit itself, not differences); `contribution_r_per_tag`: each
    tag's K contributions alone (stricter: with most true contributions exactly 0, an
    attribute standing in for the bias, such as sky, which almost every image has,
    weighs more)."""
    learned = np.asarray(learned, dtype="float64")
    true = np.asarray(true, dtype="float64")
    names = [f"{a}/{t}" for a in attribute_names for t in kind.labels]
    whole = contribution_r(learned.reshape(len(learned), -1), true.reshape(len(true), -1),
                           names)
    per_tag = {tag: contribution_r(learned[..., t], true[..., t], attribute_names)["mean"]
               for t, tag in enumerate(kind.labels)}
    return {"contribution_r": whole["mean"], "contribution_r_per_tag": per_tag}
