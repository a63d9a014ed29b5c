"""TFLite variants of a SIAM model: conversion, builtin-ops check, size trimming."""

import tempfile
import warnings

import keras
import numpy as np
import tensorflow as tf

from export import flatbuffer, head_precision
from siam_keras import vocabulary
from siam_keras.models.dtype_policy import layer_policies

SIGNATURE = vocabulary.PIXELS_SIGNATURE

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
    if layer_policies(model) <= {"float32"}:
        return model
    config = _float32_policies(model.get_config())
    copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def strip_tensor_names(data):
    """Drops tensor and subgraph names and the description, keeping the signatures.

    The names are debugging aids; for the small demo model they are 5% of the int8
    file (size ratio 0.304 with them, 0.293 without). `flatbuffer_utils.strip_strings`
    would also drop the signatures, which the runtimes call the model by.
    """
    model = flatbuffer.read(data)
    model.description = None
    for subgraph in model.subgraphs:
        subgraph.name = None
        for tensor in subgraph.tensors:
            tensor.name = None
    return flatbuffer.write(model)


def operators(path):
    """{op name: count} over every subgraph of a .tflite file (custom ops as CUSTOM:<code>)."""
    from pathlib import Path

    model = flatbuffer.read(Path(path).read_bytes())
    names = flatbuffer.operator_names(model)
    counts = {}
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            counts[names[op.opcodeIndex]] = counts.get(names[op.opcodeIndex], 0) + 1
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
                                                        name=vocabulary.PIXELS_INPUT)])
    archive.write_out(folder, verbose=False)


def convert(model, variants, calibration=None):
    """TFLite files of a SIAM model (its float32 twin if mixed precision).

    Every quantised variant keeps the head, from the attribute maps on, in float32
    (`export.head_precision`), so that explanations recomputed from the model's own
    maps are exact.

    Args:
        model: a SIAM Keras model.
        variants: names from `export.variants.VARIANTS`.
        calibration: (N, H, W, 3) pixels of real training images, for int8.

    Returns:
        ({variant: .tflite bytes}, {variant: bytes of the same variant quantised
        whole, head included}), the second for int8 and float16 only: what keeping
        the head in float32 costs is measured against it.
    """
    if "int8" in variants and (calibration is None or len(calibration) == 0):
        raise ValueError("The int8 variant needs calibration images (--calibration)")
    converted, quantised_whole = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        _batch_one_saved_model(float32_copy(model), folder)

        def converter():
            converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=[SIGNATURE])
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
            return converter

        with warnings.catch_warnings():
            # The int8 calibration runs TF's own deprecated tf.lite.Interpreter.
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            float32 = converter().convert()
            for variant in variants:
                if variant == "float32":
                    data = float32
                elif variant == "dynamic":
                    dynamic = converter()
                    dynamic.optimizations = [tf.lite.Optimize.DEFAULT]
                    data = head_precision.restore_float32_head(dynamic.convert(), float32)
                elif variant == "float16":
                    half = converter()
                    half.optimizations = [tf.lite.Optimize.DEFAULT]
                    half.target_spec.supported_types = [tf.float16]
                    quantised_whole[variant] = half.convert()
                    data = head_precision.restore_float32_head(quantised_whole[variant], float32)
                else:
                    images = np.asarray(calibration, dtype="float32")
                    quantised_whole[variant] = _int8_whole(converter(), images)
                    data = head_precision.int8_with_float_head(
                        converter(), images, head_precision.head_node_names(float32))
                converted[variant] = strip_tensor_names(data)
    return converted, {k: strip_tensor_names(v) for k, v in quantised_whole.items()}


def _int8_whole(converter, images):
    """Full-integer quantisation of everything, the head included (for comparison)."""
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ({vocabulary.PIXELS_INPUT: images[i : i + 1]}
                                                for i in range(len(images)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()
