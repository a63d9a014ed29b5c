"""Checks of learned SIAM effects against a dataset's true scoring rule."""

import numpy as np

from siam_keras.metrics.regression import kendall_tau


def effect_rank_tau(learned_contributions, true_contributions, attribute_names):
    """Do the learned per-attribute effects rank like the true ones?

    The effect of an attribute is its mean contribution over the images. Returns
    Kendall's tau between the K learned and the K true effects, and both lists.

    Args:
        learned_contributions: (N, K) contributions predicted by the model.
        true_contributions: (N, K) contributions of the true rule on the same images.
        attribute_names: K names.
    """
    learned = np.asarray(learned_contributions, dtype="float64")
    true = np.asarray(true_contributions, dtype="float64")
    if learned.shape != true.shape or learned.ndim != 2 or learned.shape[1] != len(attribute_names):
        raise ValueError(
            f"Contributions must both be (N, {len(attribute_names)}). Received: "
            f"{learned.shape} and {true.shape}"
        )
    learned_effects, true_effects = learned.mean(axis=0), true.mean(axis=0)
    return {
        "effect_rank_tau": kendall_tau(true_effects, learned_effects),
        "learned_effects": dict(zip(attribute_names, map(float, learned_effects))),
        "true_effects": dict(zip(attribute_names, map(float, true_effects))),
    }
