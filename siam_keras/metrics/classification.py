"""Classification metrics: accuracy, top-5 accuracy, macro F1 and per-class recall (NumPy)."""

import numpy as np

#: Top-5 accuracy is reported from this many classes on (below, it is always 1).
TOP5_MIN_CLASSES = 5


def classification_report(labels, logits, class_names):
    """Scores (N, C) logits against (N,) class indices; a label < 0 is missing and left out.

    Returns:
        {"num_images", "accuracy", "top5_accuracy" (C >= 5), "macro_f1",
         "recall": {class: recall}}: recall is NaN for a class with no image, and
        macro F1 averages the classes that occur in the labels or the predictions.
    """
    labels = np.asarray(labels).reshape(-1)
    logits = np.asarray(logits, dtype="float64")
    num_classes = len(class_names)
    if logits.ndim != 2 or logits.shape != (labels.size, num_classes):
        raise ValueError(f"Expected ({labels.size}, {num_classes}) logits for {labels.size} labels "
                         f"and {num_classes} classes. Received: {logits.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"Labels must be integer class indices. Received: dtype {labels.dtype}")
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"Labels must be below the number of classes ({num_classes}). "
                         f"Received: {labels.max()}")
    known = labels >= 0
    labels, logits = labels[known], logits[known]
    predicted = np.argmax(logits, axis=1) if labels.size else labels
    report = {"num_images": int(labels.size),
              "accuracy": float(np.mean(predicted == labels)) if labels.size else float("nan")}
    if num_classes >= TOP5_MIN_CLASSES:
        top5 = np.argsort(-logits, axis=1, kind="stable")[:, :5]
        report["top5_accuracy"] = (float(np.mean((top5 == labels[:, None]).any(axis=1)))
                                   if labels.size else float("nan"))
    recall, f1 = {}, []
    for c, name in enumerate(class_names):
        true_c, predicted_c = labels == c, predicted == c
        hits = float(np.sum(true_c & predicted_c))
        recall[name] = hits / true_c.sum() if true_c.any() else float("nan")
        if true_c.any() or predicted_c.any():
            f1.append(2 * hits / (true_c.sum() + predicted_c.sum()))
    report["macro_f1"] = float(np.mean(f1)) if f1 else float("nan")
    report["recall"] = {name: float(value) for name, value in recall.items()}
    return report


def report(labels, values, kind):
    """A classification output's metrics (`OutputKind.metrics` names this module)."""
    return classification_report(labels, values, kind.labels)


def ground_truth(learned, true, attribute_names, kind):
    """Learned (N, K, C) contributions against the true rule's: `class_contribution_r`
    (centred over the classes, as softmax sees only differences)."""
    from siam_keras.metrics.contributions import class_contribution_r

    return {"contribution_r": class_contribution_r(learned, true, attribute_names)["mean"]}
