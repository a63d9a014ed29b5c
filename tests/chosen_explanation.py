"""An explanation with chosen contributions, built in NumPy (no model), for the figures."""

import numpy as np

from siam_keras.runtime.decomposition import HeadWeights, OutputHead, decompose
from siam_keras.runtime.explanation import SIAMExplanation
from siam_keras.runtime.output_kinds import Classification

NAMES = ("sky", "water", "trees", "road", "rock")
#: Each attribute's contribution to `scenicness` (its map's mean is 1, but rock's
#: map is 0.004 everywhere, so rock adds 0.004): road and rock read "0.00".
MIXING = (1.2, -0.9, 0.6, -0.003, 1.0)
CLASSES = ("coast", "forest", "town")


def chosen_explanation(grid=4):
    """One image; `scenicness` = 5 + the contributions above; `landscape` (classes)."""
    rng = np.random.default_rng(0)
    k = len(NAMES)
    maps = np.ones((1, grid, grid, k), "float32")
    maps[0, :, :, 0] = np.linspace(0.0, 2.0, grid * grid).reshape(grid, grid)  # mean 1
    maps[0, :, :, 4] = 0.004
    cells = np.full((grid, grid, k, 1), 1.0 / (grid * grid), "float32")
    heads = {
        "scenicness": OutputHead(cells, np.array(MIXING, "float32")[:, None], 5.0),
        "landscape": OutputHead(cells, rng.normal(size=(k, 1, 3)).astype("float32"),
                                np.zeros(3, "float32"), kind=Classification(CLASSES)),
    }
    predictions = {"attribute_maps": maps, "attribute_scores": maps.mean(axis=(1, 2))}
    for name, head in heads.items():
        contributions = decompose(head, maps).contributions
        predictions[f"{name}_contributions"] = contributions
        predictions[name] = contributions.sum(axis=1) + head.bias
    return SIAMExplanation.from_predictions(HeadWeights(NAMES, heads), predictions, (32, 32))
