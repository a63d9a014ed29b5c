"""Keeping the SIAM head in float32 inside quantised TFLite models.

An on-device explanation recomputes each output's contributions and their spatial
split from the model's own attribute maps and the head's weights (the sidecar). That
recomputation is exact only if the model's head, from the maps on, computes in
float32 with those very weights. Quantised whole, it does not: int8 activations in
the head put a real photo's contributions 0.45 away from their recomputation, and
float16 templates about 1e-4 away. So, for every quantised variant, the ops
downstream of `attribute_maps` keep float32 arithmetic and float32 weights, while
the backbone (over 99% of the work) is quantised:

- int8: calibrated full-integer quantisation with the head's ops on the
  quantiser's deny list (`tf.lite.experimental.QuantizationDebugger`);
- float16 and dynamic range: the converter's model, with the constants the head
  reads put back to their float32 values (float16 weights, and the int8 weights a
  hybrid kernel gets for a large pooling matrix); each is matched to the one float32
  constant it stores, or the export stops.

`fidelity.measure` then checks every variant's explanations against the sidecar.
"""

import numpy as np

from export import flatbuffer
from siam_keras import vocabulary

FLOAT32, FLOAT16, INT8 = 0, 1, 9  # TFLite TensorType values


def _head_operators(model):
    """Indices of the main subgraph's operators that depend on the attribute maps."""
    subgraph = model.subgraphs[0]
    outputs = {item.name.decode(): item.tensorIndex for item in model.signatureDefs[0].outputs}
    if vocabulary.ATTRIBUTE_MAPS not in outputs:
        raise ValueError(f"The TFLite model has no {vocabulary.ATTRIBUTE_MAPS!r} output: "
                         f"{sorted(outputs)}")
    reached, head = {outputs[vocabulary.ATTRIBUTE_MAPS]}, []
    for index, op in enumerate(subgraph.operators):  # operators are in topological order
        if any(tensor in reached for tensor in op.inputs):
            head.append(index)
            reached.update(op.outputs)
    return head


def head_node_names(float_flatbuffer):
    """The output tensor names of the head's operators in a float32 TFLite model (the
    nodes to keep out of int8 quantisation)."""
    model = flatbuffer.read(float_flatbuffer)
    subgraph = model.subgraphs[0]
    return [subgraph.tensors[t].name.decode() for i in _head_operators(model)
            for t in subgraph.operators[i].outputs]


def int8_with_float_head(converter, calibration, denylisted_nodes):
    """The calibrated int8 model with `denylisted_nodes` left in float32.

    Args:
        converter: a `tf.lite.TFLiteConverter` of the float32 model.
        calibration: (N, H, W, 3) float32 pixels.
        denylisted_nodes: `head_node_names` of the float32 model.
    """
    import tensorflow as tf

    def representative():
        for i in range(len(calibration)):
            yield {vocabulary.PIXELS_INPUT: calibration[i : i + 1]}

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    # int8 kernels wherever they are allowed; the denied head keeps builtin float ones.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                           tf.lite.OpsSet.TFLITE_BUILTINS]
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=list(denylisted_nodes))
    # An experimental API (TF 2.21): the one the converter offers for selective quantisation.
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=representative, debug_options=options)
    return debugger.get_nondebug_quantized_model()


def _float32_constants(model):
    """{shape: [float32 arrays]} of a float32 model's constant tensors, distinct values."""
    constants = {}
    for tensor in model.subgraphs[0].tensors:
        data = model.buffers[tensor.buffer].data if tensor.buffer else None
        if tensor.type == FLOAT32 and data is not None and len(data):
            values = np.frombuffer(bytes(bytearray(data)), dtype="<f4").reshape(tensor.shape)
            found = constants.setdefault(tuple(tensor.shape), {})
            found.setdefault(values.tobytes(), values)
    return {shape: list(found.values()) for shape, found in constants.items()}


def _stored(model, tensor):
    """What a quantised constant holds, as float64: float16 values, or int8 times scale."""
    data = bytes(bytearray(model.buffers[tensor.buffer].data))
    if tensor.type == FLOAT16:
        values = np.frombuffer(data, dtype="<f2").reshape(tensor.shape)
        return values.astype("float64"), np.spacing(np.abs(values)).astype("float64") / 2
    scale = np.asarray(tensor.quantization.scale, dtype="float64")
    zero = np.asarray(tensor.quantization.zeroPoint, dtype="float64")
    shape = [1] * len(tensor.shape)
    if scale.size > 1:
        shape[tensor.quantization.quantizedDimension] = scale.size
    values = np.frombuffer(data, dtype=np.int8).reshape(tensor.shape).astype("float64")
    return (values - zero.reshape(shape)) * scale.reshape(shape), scale.reshape(shape) / 2


def _original(model, tensor, constants):
    """The one float32 constant that `tensor` (float16, or int8 with its scales) stores."""
    stored, half_step = _stored(model, tensor)
    matches = [values for values in constants.get(tuple(tensor.shape), [])
               if np.all(np.abs(values.astype("float64") - stored) <= 1.01 * half_step + 1e-12)]
    if len(matches) != 1:
        raise ValueError(f"A head constant of shape {tuple(tensor.shape)} has {len(matches)} "
                         "float32 originals in the float32 model (expected exactly one)")
    return matches[0]


def _float32_buffer(model, values):
    from tensorflow.lite.python import schema_py_generated as schema

    buffer = schema.BufferT()
    buffer.data = np.frombuffer(np.asarray(values, dtype="<f4").tobytes(), dtype=np.uint8)
    model.buffers.append(buffer)
    return len(model.buffers) - 1


def restore_float32_head(quantised_flatbuffer, float32_flatbuffer):
    """The quantised model with every constant its head reads put back in float32.

    A head operator reads a quantised constant either through a DEQUANTIZE (float16
    weights) or directly (the int8 weights of a dynamic-range hybrid kernel, for large
    pooling matrices). Each is matched to the one float32 constant of the float32 model
    that it stores (rounding to float16, or within half an int8 step) and replaced by
    it: the DEQUANTIZE goes, and a hybrid kernel becomes a float32 one.

    Raises:
        ValueError: a constant has no float32 original, or more than one.
    """
    model, reference = flatbuffer.read(quantised_flatbuffer), flatbuffer.read(float32_flatbuffer)
    subgraph, names = model.subgraphs[0], flatbuffer.operator_names(model)
    constants = _float32_constants(reference)
    head = _head_operators(model)
    head_inputs = {t for i in head for t in subgraph.operators[i].inputs if t >= 0}
    removed = set()
    for index, op in enumerate(subgraph.operators):
        if names[op.opcodeIndex] == "DEQUANTIZE" and op.outputs[0] in head_inputs:
            source = subgraph.tensors[op.inputs[0]]
            if source.type == FLOAT16:
                values = _original(model, source, constants)
                subgraph.tensors[op.outputs[0]].buffer = _float32_buffer(model, values)
                removed.add(index)
    for tensor_index in sorted(head_inputs):
        tensor = subgraph.tensors[tensor_index]
        data = model.buffers[tensor.buffer].data if tensor.buffer else None
        if tensor.type == INT8 and data is not None and len(data):
            values = _original(model, tensor, constants)
            tensor.type, tensor.quantization = FLOAT32, None
            tensor.buffer = _float32_buffer(model, values)
    subgraph.operators = [op for i, op in enumerate(subgraph.operators) if i not in removed]
    return flatbuffer.write(model)
