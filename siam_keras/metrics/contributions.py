"""How: learned per-attribute contributions against the true ones (NumPy only)."""

import numpy as np

from siam_keras.metrics.attribute_arrays import attribute_array_pair


def contribution_r(learned, true, attribute_names):
    """Mean over images of the Pearson r between learned and true contributions.

    For each image, the K learned contributions are correlated with the K true
    ones; images where either side is constant (r undefined) are left out.

    Returns:
        {"mean": float, "num_images": images with a defined r}.
    """
    learned, true = attribute_array_pair(learned, true, attribute_names, "Contributions")
    a = learned - learned.mean(axis=1, keepdims=True)
    b = true - true.mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    defined = norm > 1e-12
    r = (a * b).sum(axis=1)[defined] / norm[defined]
    return {"mean": float(r.mean()) if r.size else float("nan"), "num_images": int(defined.sum())}


def class_contribution_r(learned, true, attribute_names):
    """`contribution_r` of a classification output's (N, K, C) contributions.

    Softmax is unchanged when the same amount is added to every class, so only the
    differences between classes are the model's to learn: both sides are centred
    over the classes, and each image's K x C centred contributions are correlated.
    """
    learned = np.asarray(learned, dtype="float64")
    true = np.asarray(true, dtype="float64")
    if learned.ndim != 3 or learned.shape != true.shape or learned.shape[1] != len(attribute_names):
        raise ValueError(f"Contributions must be two (N, {len(attribute_names)}, C) arrays of one "
                         f"shape. Received: {learned.shape} and {true.shape}")
    centred = [a - a.mean(axis=2, keepdims=True) for a in (learned, true)]
    flat = [a.reshape(len(a), -1) for a in centred]
    names = [f"{k}/{c}" for k in attribute_names for c in range(learned.shape[2])]
    return contribution_r(*flat, names)


def zero_weight_share(learned, true_weights, attribute_names):
    """Share of the total |contribution| that goes to attributes whose true weight is 0.

    Args:
        learned: (N, K) learned contributions.
        true_weights: (K,) the true rule's weights.
        attribute_names: K names.
    """
    learned = np.abs(np.asarray(learned, dtype="float64"))
    weights = np.asarray(true_weights, dtype="float64")
    if learned.ndim != 2 or weights.shape != (learned.shape[1],) or weights.size != len(attribute_names):
        raise ValueError(
            f"Expected (N, {len(attribute_names)}) contributions and ({len(attribute_names)},) "
            f"weights. Received: {learned.shape} and {weights.shape}"
        )
    total = learned.sum()
    return float(learned[:, weights == 0].sum() / total) if total > 0 else float("nan")
