"""Checks of learned SIAM effects against a dataset's true scoring rule."""

from siam_keras.metrics.attribute_arrays import attribute_array_pair
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
    learned, true = attribute_array_pair(
        learned_contributions, true_contributions, attribute_names, "Contributions"
    )
    learned_effects, true_effects = learned.mean(axis=0), true.mean(axis=0)
    return {
        "effect_rank_tau": kendall_tau(true_effects, learned_effects),
        "learned_effects": dict(zip(attribute_names, map(float, learned_effects))),
        "true_effects": dict(zip(attribute_names, map(float, true_effects))),
    }
