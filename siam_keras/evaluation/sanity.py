"""Sanity check of explanations (Adebayo et al. 2018): randomise weights, compare maps."""

import numpy as np
from scipy import stats

from siam_keras.models.siam_model import get_siam_layer


def randomized_head_copy(model, seed=0):
    """A copy of a SIAM model whose head has random weights (the backbone is kept).

    Drawn from `seed`: the 1x1 convolution to the attribute maps afresh (Glorot
    uniform, the layer's default initializer), its bias at 0; templates uniformly
    in [0, 2 x their trained mean] (they stay non-negative); mixing weights from a
    normal with their trained spread. The output biases are kept.
    """
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    layer = get_siam_layer(copy)
    rng = np.random.default_rng(seed)
    shape = tuple(layer.attribute_kernel.shape)
    limit = np.sqrt(6.0 / (shape[2] + shape[3]))
    layer.attribute_kernel.assign(rng.uniform(-limit, limit, shape).astype("float32"))
    layer.attribute_bias.assign(np.zeros(layer.attribute_bias.shape, "float32"))
    for name in layer.output_names:
        if name in layer.templates:
            trained = np.asarray(layer.templates[name])
            layer.templates[name].assign(
                rng.uniform(0.0, 2.0 * trained.mean() + 1e-6, trained.shape).astype("float32"))
        mixing = np.asarray(layer.mixing[name])
        layer.mixing[name].assign(
            rng.normal(0.0, mixing.std() + 1e-6, mixing.shape).astype("float32"))
    return copy


def rank_correlation(first, second):
    """Mean Spearman correlation between matching maps, (N, h, w, ...) each.

    Each map (over its h x w cells) is compared with its counterpart; pairs where
    either map is constant are left out. 1 = same ranking, 0 = unrelated.
    """
    first = np.asarray(first, dtype="float64")
    second = np.asarray(second, dtype="float64")
    if first.shape != second.shape or first.ndim < 3:
        raise ValueError(f"Expected two (N, h, w, ...) arrays. Received: {first.shape}, {second.shape}")
    # One row per map: move the h, w axes last and flatten them.
    a = np.moveaxis(first, (1, 2), (-2, -1)).reshape(-1, first.shape[1] * first.shape[2])
    b = np.moveaxis(second, (1, 2), (-2, -1)).reshape(-1, first.shape[1] * first.shape[2])
    defined = (a.std(axis=1) > 0) & (b.std(axis=1) > 0)
    if not defined.any():
        return float("nan")
    ra = stats.rankdata(a[defined], axis=1)
    rb = stats.rankdata(b[defined], axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    r = (ra * rb).sum(axis=1) / np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))
    return float(r.mean())
