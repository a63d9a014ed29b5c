"""Shared checks for layers, in the spirit of keras-hub's `run_layer_test`."""

import json

import keras
import numpy as np

from siam_keras.saving import load_model


def run_layer_test(cls, init_kwargs, input_data, expected_output_shapes, tmp_path):
    """Builds, calls symbolically and eagerly, fits a step, and round-trips the layer.

    Checks output shapes and float32 dtypes both ways, the get_config round trip,
    one compiled training step, and a `.keras` save/load (safe_mode=True) that
    reproduces the outputs exactly. Returns the eager outputs.
    """
    layer = cls(**init_kwargs)
    config = layer.get_config()
    revived = cls.from_config(json.loads(json.dumps(config)))
    assert revived.get_config() == config

    symbolic = cls(**init_kwargs)(keras.KerasTensor(input_data.shape, "float32"))
    assert {k: tuple(v.shape) for k, v in symbolic.items()} == expected_output_shapes
    assert all(v.dtype == "float32" for v in symbolic.values())

    eager = layer(input_data)
    assert {k: tuple(v.shape) for k, v in eager.items()} == expected_output_shapes
    assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in eager.values())

    inputs = keras.Input(input_data.shape[1:])
    model = keras.Model(inputs, cls(**init_kwargs)(inputs))
    targets = {k: np.zeros((len(input_data),) + s[1:], "float32") for k, s in expected_output_shapes.items()}
    model.compile("sgd", loss={k: "mse" for k in targets})
    history = model.fit(input_data, targets, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    path = tmp_path / "layer_model.keras"
    model.save(path)
    reloaded = load_model(path, safe_mode=True)
    before, after = model(input_data), reloaded(input_data)
    for key in before:
        np.testing.assert_array_equal(np.asarray(before[key]), np.asarray(after[key]))
    return {k: np.asarray(v) for k, v in eager.items()}
