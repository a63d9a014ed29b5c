import keras
import numpy as np
import pytest
import tensorflow as tf

from training.losses import AttributeLoss, SquaredError, siam_losses


def test_attribute_loss_is_bce_of_tanh():
    labels = np.array([[1.0, 0.0, 2 / 3]], "float32")
    scores = np.array([[0.5, 0.2, 1.0]], "float32")
    p = np.tanh(scores)
    expected = -(labels * np.log(p) + (1 - labels) * np.log(1 - p)).mean()
    assert float(AttributeLoss()(labels, scores)) == pytest.approx(expected, rel=1e-5)


def test_zero_scores_do_not_give_nan():
    assert np.isfinite(float(AttributeLoss()(np.ones((2, 3), "float32"), np.zeros((2, 3), "float32"))))


@pytest.mark.parametrize("loss, shape", [(AttributeLoss(), (4, 3)), (SquaredError(), (4,))])
def test_masked_samples_add_nothing_to_loss_or_gradient(loss, shape, rng):
    y_true = rng.random(shape).astype("float32")
    y_pred = tf.Variable(rng.random(shape).astype("float32") + 0.1)
    weights = np.array([1.0, 0.0, 1.0, 0.0], "float32")
    with tf.GradientTape() as tape:
        value = loss(y_true, y_pred, sample_weight=weights)
    gradient = tape.gradient(value, y_pred).numpy()
    assert (gradient[weights == 0] == 0).all() and (gradient[weights == 1] != 0).any()
    # Changing the masked samples' labels changes nothing.
    y_changed = y_true.copy()
    y_changed[weights == 0] = 1 - y_changed[weights == 0]
    assert float(loss(y_changed, y_pred, sample_weight=weights)) == pytest.approx(float(value))


def test_losses_serialise():
    for loss in (AttributeLoss(epsilon=1e-4), SquaredError()):
        again = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()


def test_siam_losses_cover_each_output_and_the_attribute_scores():
    losses = siam_losses(["scenicness", "scenicness_variance"])
    assert set(losses) == {"scenicness", "scenicness_variance", "attribute_scores"}
    assert isinstance(losses["attribute_scores"], AttributeLoss)
    assert isinstance(losses["scenicness"], SquaredError)
