"""TFLite variants of a SIAM model: conversion, builtin-ops check, size trimming."""

import tempfile
import warnings

import keras
import numpy as np
import tensorflow as tf

SIGNATURE = "serving_default"

def _float32_policies(value):
    """A layer config with every dtype policy replaced by float32."""
    if isinstance(value, dict):
        if value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and "config" in value:
            return {**value, "config": {**value["config"], "name": "float32"}}
        return {k: _float32_policies(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_float32_policies(v) for v in value]
    return value


def float32_copy(model):
    """The same model, rebuilt under float32 with the same weights.

    A mixed_float16 model does not convert to builtin TFLite ops (REFERENCE §3);
    its float32 twin does, and computes the same function in higher precision.
    A float32 model is returned as it is.
    """
    policies = {layer.dtype_policy.name for layer in model._flatten_layers(include_self=False)}
    if policies <= {"float32"}:
        return model
    config = _float32_policies(model.get_config())
    copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def strip_tensor_names(flatbuffer):
    """Drops tensor and subgraph names and the description, keeping the signatures.

    The names are debugging aids; for the small demo model they are 5% of the int8
    file (size ratio 0.304 with them, 0.293 without). `flatbuffer_utils.strip_strings`
    would also drop the signatures, which the runtimes call the model by.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    model.description = None
    for subgraph in model.subgraphs:
        subgraph.name = None
        for tensor in subgraph.tensors:
            tensor.name = None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def operators(path):
    """{op name: count} over every subgraph of a .tflite file (custom ops as CUSTOM:<code>)."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = flatbuffer_utils.read_model(str(path))
    counts = {}
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            name = names.get(builtin, str(builtin))
            if name == "CUSTOM":
                name = f"CUSTOM:{(code.customCode or b'').decode(errors='replace')}"
            counts[name] = counts.get(name, 0) + 1
    return counts


def check_builtin_ops(path):
    """Raises if any subgraph of the file uses a custom or Flex (select TF) op."""
    custom = sorted(name for name in operators(path) if name.startswith("CUSTOM"))
    if custom:
        raise ValueError(f"{path} uses non-builtin ops {custom}: no interpreter here runs them")


def _batch_one_saved_model(model, folder):
    """A SavedModel of `model` taking one image, the input TFLite runtimes get."""
    height, width = model.input_shape[1:3]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SIGNATURE, lambda image: model(image, training=False),
                         input_signature=[tf.TensorSpec((1, height, width, 3), tf.float32,
                                                        name="image")])
    archive.write_out(folder, verbose=False)


def convert(model, variants, calibration=None):
    """{variant: .tflite bytes} of a SIAM model (float32 twin if mixed precision).

    Args:
        model: a SIAM Keras model.
        variants: names from `export.variants.VARIANTS`.
        calibration: (N, H, W, 3) pixels of real training images, for int8.
    """
    if "int8" in variants and (calibration is None or len(calibration) == 0):
        raise ValueError("The int8 variant needs calibration images (--calibration)")
    with tempfile.TemporaryDirectory() as folder:
        _batch_one_saved_model(float32_copy(model), folder)
        converted = {}
        for variant in variants:
            converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=[SIGNATURE])
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
            if variant != "float32":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if variant == "float16":
                converter.target_spec.supported_types = [tf.float16]
            if variant == "int8":
                images = np.asarray(calibration, dtype="float32")
                converter.representative_dataset = lambda: ({"image": images[i : i + 1]}
                                                            for i in range(len(images)))
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            with warnings.catch_warnings():
                # The int8 calibration runs TF's own deprecated tf.lite.Interpreter.
                warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
                converted[variant] = strip_tensor_names(converter.convert())
    return converted

