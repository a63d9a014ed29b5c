"""Shared checks for models, in the spirit of keras-hub's `TestCase` (`run_model_test`)."""

import json

import keras
import numpy as np

from siam_keras.saving import load_model


def run_model_test(build, images, expected_shapes, num_weights, num_trainable, tmp_path):
    """Checks a model class the way keras-hub checks its tasks.

    `build(dtype_policy)` builds the model. Checks: weight counts; symbolic and eager
    calls (shapes, float32 outputs); training steps that change the weights;
    the config round trip (`from_config(get_config())` of the same class and config);
    a `.keras` round trip (same class, same outputs, `safe_mode=True`); and each mixed
    policy (`mixed_float16`: the model is mixed, compiles a `LossScaleOptimizer`, and
    trains to finite float32 outputs; `mixed_bfloat16` likewise, without scaling).
    """
    model = build(None)
    cls = type(model)
    assert len(model.weights) == num_weights and len(model.trainable_weights) == num_trainable

    symbolic = model(keras.Input(images.shape[1:], batch_size=len(images)))
    assert {k: tuple(v.shape) for k, v in symbolic.items()} == expected_shapes
    eager = model(images)
    assert {k: tuple(v.shape) for k, v in eager.items()} == expected_shapes
    assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in eager.values())

    config = _as_json(model.get_config())
    revived = cls.from_config(config)
    assert type(revived) is cls and _as_json(revived.get_config()) == config

    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = load_model(path, safe_mode=True)
    assert type(reloaded) is cls
    for key, value in model(images).items():
        np.testing.assert_array_equal(np.asarray(reloaded(images)[key]), np.asarray(value))

    for policy in ("mixed_float16", "mixed_bfloat16"):
        mixed = build(policy)
        assert mixed.dtype_policy.name == policy
        trained = _train_one_step(mixed, images, expected_shapes)
        if policy == "mixed_float16":
            assert isinstance(trained.optimizer, keras.optimizers.LossScaleOptimizer)
        outputs = mixed(images)
        assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in outputs.values())
        assert all(np.isfinite(np.asarray(v)).all() for v in outputs.values())
    _train_one_step(model, images, expected_shapes)


def _train_one_step(model, images, expected_shapes):
    targets = {k: np.ones((len(images),) + s[1:], "float32") for k, s in expected_shapes.items()
               if k in model.named_outputs}
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    model.compile(keras.optimizers.Adam(1e-2), loss={k: "mse" for k in targets})
    # A few steps: dynamic loss scaling may skip the first ones while its scale settles.
    model.fit(images, targets, epochs=4, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    return model


def _as_json(config):
    """A config as JSON reads it back (tuples become lists), as a .keras file stores it."""
    return json.loads(json.dumps(keras.saving.serialize_keras_object(config)))
