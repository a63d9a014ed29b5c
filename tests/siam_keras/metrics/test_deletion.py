import numpy as np
import pytest

from siam_keras.metrics.deletion import deletion_auc, deletion_curves, deletion_order


def _predict(images):
    """A 'model' whose output is the mean red value: removing red pixels lowers it."""
    return images[..., 0].mean(axis=(1, 2))


def test_the_right_map_deletes_faster_than_the_wrong_one(rng):
    images = np.zeros((2, 4, 4, 3), "float32")
    images[:, :2, :, 0] = 255.0  # red top half, black bottom half
    right = images[..., 0] / 255.0
    wrong = 1.0 - right
    fast = deletion_curves(_predict, images, right, steps=4, fill="zero")
    slow = deletion_curves(_predict, images, wrong, steps=4, fill="zero")
    np.testing.assert_allclose(fast[0], [127.5, 63.75, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(slow[0], [127.5, 127.5, 127.5, 63.75, 0.0])
    assert (deletion_auc(fast) < deletion_auc(slow)).all()
    np.testing.assert_allclose(deletion_auc(fast), 0.25 * (127.5 / 2 + 63.75))


def test_mean_fill_ends_at_the_mean_colour_and_ties_are_shuffled():
    images = np.zeros((1, 4, 4, 3), "float32")
    images[0, :2, :, 0] = 100.0
    curve = deletion_curves(_predict, images, np.zeros((1, 4, 4)), steps=2, fill="mean")
    assert curve[0, -1] == pytest.approx(50.0)
    order = deletion_order(np.zeros((1, 4, 4)))[0]
    assert sorted(order) == list(range(16)) and list(order) != list(range(16))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="fill"):
        deletion_curves(_predict, np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 4)), fill="blur")
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        deletion_curves(_predict, np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 5)))
