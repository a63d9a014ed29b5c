"""Building a model under a given dtype policy without leaking it, and reading it back."""

import contextlib

import keras

from siam_keras.models.nested_layers import nested_layers


@contextlib.contextmanager
def dtype_policy_scope(policy):
    """Sets Keras' global dtype policy inside the block (None: leave it as is).

    A functional model takes the global policy when `keras.Model(...)` is called,
    so the model itself, not only its layers, must be constructed inside the
    block: `compile()` wraps the optimizer in a `LossScaleOptimizer` only when the
    model's own policy is `mixed_float16`.
    """
    if policy is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def layer_policies(model):
    """The names of the dtype policies of a model's layers, nested models included."""
    return {layer.dtype_policy.name for layer in nested_layers(model)}


def model_policy(model):
    """The policy a model's layers were built under: "mixed_float16", "mixed_bfloat16",
    or the model's own. A model loaded from a file, or wrapped for training, keeps its
    layers' policies but not always its own: this reads them."""
    names = layer_policies(model)
    for mixed in ("mixed_float16", "mixed_bfloat16"):
        if mixed in names:
            return mixed
    return model.dtype_policy.name


def rewrapped(model, model_class=None):
    """A new functional model (of `model_class`, default `keras.Model`) over `model`'s
    inputs, outputs and layers, under its layers' policy: no optimizer, no losses."""
    with dtype_policy_scope(model_policy(model)):
        return (model_class or keras.Model)(model.input, model.output, name=model.name)
