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
