import keras
import numpy as np
import pytest

from siam_keras.explanations.gradients import compiled, value_and_gradients, values_and_gradients


def test_gradients_of_a_function_of_arrays_match_the_closed_form(rng):
    x, y = rng.normal(size=(3,)).astype("float32"), rng.normal(size=(3,)).astype("float32")
    value, (dx, dy) = value_and_gradients(lambda a, b: keras.ops.sum(a**2 * b), [x, y])
    assert float(value) == pytest.approx(float(np.sum(x**2 * y)), rel=1e-5)
    np.testing.assert_allclose(np.asarray(dx), 2 * x * y, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(dy), x**2, rtol=1e-5)


def test_several_values_from_one_pass_and_zeros_where_unconnected(rng):
    x, y = rng.normal(size=(2,)).astype("float32"), rng.normal(size=(2,)).astype("float32")
    values, gradients = values_and_gradients(
        lambda a, b: [keras.ops.sum(3 * a), keras.ops.sum(a * b)], [x, y])
    assert len(values) == 2 and float(values[0]) == pytest.approx(3 * x.sum(), rel=1e-5)
    np.testing.assert_allclose(np.asarray(gradients[0][0]), [3, 3])
    np.testing.assert_array_equal(np.asarray(gradients[0][1]), [0, 0])
    np.testing.assert_allclose(np.asarray(gradients[1][0]), y, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gradients[1][1]), x, rtol=1e-6)


def test_gradients_with_respect_to_a_models_weights(rng):
    layer = keras.layers.Dense(1, use_bias=True)
    x = rng.normal(size=(4, 3)).astype("float32")
    layer.build((None, 3))
    value, (d_kernel, d_bias) = value_and_gradients(
        lambda *_: keras.ops.sum(layer(x)), [layer.kernel, layer.bias])
    expected = x @ np.asarray(layer.kernel) + np.asarray(layer.bias)
    assert float(value) == pytest.approx(float(expected.sum()), rel=1e-5)
    np.testing.assert_allclose(np.asarray(d_kernel), x.sum(axis=0)[:, None], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(d_bias), [4.0])


def test_compiled_reads_the_current_variable_values():
    variable = keras.Variable(np.float32(2.0))
    function = compiled(lambda x: x * variable, [variable])
    assert float(function(np.float32(3.0))) == pytest.approx(6.0)
    variable.assign(np.float32(5.0))
    assert float(function(np.float32(3.0))) == pytest.approx(15.0)


def test_another_backend_is_refused(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(ValueError, match=r"backends \['tensorflow', 'jax'\].*backend='torch'"):
        value_and_gradients(lambda x: x, [np.float32(1.0)])
