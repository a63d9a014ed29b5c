import numpy as np
import pytest

from siam_keras.evaluation.sanity import randomized_head_copy, rank_correlation
from siam_keras.models import get_siam_layer


def test_rank_correlation(rng):
    maps = rng.random((3, 4, 4, 2))
    assert rank_correlation(maps, maps) == pytest.approx(1.0)
    assert rank_correlation(maps, -maps) == pytest.approx(-1.0)
    assert rank_correlation(maps, maps ** 3 + 1) == pytest.approx(1.0)  # ranks only
    constant = np.ones_like(maps)
    assert np.isnan(rank_correlation(maps, constant))
    with pytest.raises(ValueError, match=r"\(N, h, w, ...\)"):
        rank_correlation(maps, maps[:2])


def test_randomized_head_copy_changes_only_the_head(tiny_siam):
    copy = randomized_head_copy(tiny_siam, seed=3)
    original, changed = get_siam_layer(tiny_siam), get_siam_layer(copy)
    for before, after in zip(original.weights, changed.weights):
        if "bias" in after.path and "attribute" not in after.path:
            np.testing.assert_array_equal(np.asarray(before), np.asarray(after))  # output biases
        else:
            assert not np.allclose(np.asarray(before), np.asarray(after)), after.path
    assert all((np.asarray(t) >= 0).all() for t in changed.templates.values())
    backbone = [w for w in tiny_siam.weights if w.path not in {v.path for v in original.weights}]
    copied = {w.path: w for w in copy.weights}
    for weight in backbone:
        np.testing.assert_array_equal(np.asarray(weight), np.asarray(copied[weight.path]))


def test_randomized_head_copy_is_reproducible(tiny_siam):
    first = get_siam_layer(randomized_head_copy(tiny_siam, seed=5)).get_weights()
    again = get_siam_layer(randomized_head_copy(tiny_siam, seed=5)).get_weights()
    other = get_siam_layer(randomized_head_copy(tiny_siam, seed=6)).get_weights()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, c) for a, c in zip(first, other))
