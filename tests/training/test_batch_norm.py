import keras
import numpy as np
import pytest

from training.batch_norm import BatchNormStatistics, recompute_batch_norm_statistics


def _normalised(trainable=True):
    model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization(momentum=0.99)])
    model.layers[0].trainable = trainable
    return model


def test_the_statistics_are_the_mean_of_the_batches_statistics(rng):
    model = _normalised()
    batches = [rng.normal(loc, scale, (8, 3)).astype("float32")
               for loc, scale in ((1.0, 2.0), (3.0, 0.5), (-2.0, 1.0), (9.0, 9.0))]
    assert recompute_batch_norm_statistics(model, [(b, None) for b in batches], 3) == 3
    layer = model.layers[0]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean),
                               np.mean([b.mean(axis=0) for b in batches[:3]], axis=0), rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_variance),
                               np.mean([b.var(axis=0) for b in batches[:3]], axis=0), rtol=1e-4)
    assert layer.momentum == pytest.approx(0.99) and isinstance(layer.momentum, float)


def test_a_frozen_layer_keeps_its_statistics(rng):
    model = _normalised(trainable=False)
    assert recompute_batch_norm_statistics(model, [rng.normal(5, 2, (8, 3))]) == 0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.layers[0].moving_mean), 0.0)


def test_the_callback_runs_before_validation_in_fit(rng):
    """Fitted 2 steps, the moving mean is still near 0; the callback sets it to the data's."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization(),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = rng.normal(10.0, 1.0, (32, 3)).astype("float32")
    y = np.zeros((32, 1), "float32")
    seen = []
    check = keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: seen.append(
        keras.ops.convert_to_numpy(model.layers[0].moving_mean).copy()))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0,
              callbacks=[BatchNormStatistics([(x[:16], y[:16]), (x[16:], y[16:])]), check])
    np.testing.assert_allclose(seen[0], x.mean(axis=0), rtol=1e-4)
