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
- float16: the converter's float16 model, with the head's constants put back to
  their float32 values (each float16 constant is matched to the one float32
  constant that rounds to it, or the export stops);
- dynamic range: its hybrid kernels do not reach the head's small constants;
  `fidelity.measure` checks the result like every variant's.
"""

import numpy as np

from siam_keras import vocabulary

FLOAT32, FLOAT16 = 0, 1  # TFLite TensorType values


def _model(flatbuffer):
    from tensorflow.lite.tools import flatbuffer_utils

    return flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))


def _bytes(model):
    from tensorflow.lite.tools import flatbuffer_utils

    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _opcode_names(model):
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return [names.get(max(code.builtinCode, code.deprecatedBuiltinCode)) for code in model.operatorCodes]


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
    model = _model(float_flatbuffer)
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
            yield {"image": calibration[i : i + 1]}

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    # int8 kernels wherever they are allowed; the denied head keeps builtin float ones.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                           tf.lite.OpsSet.TFLITE_BUILTINS]
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=list(denylisted_nodes))
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=representative, debug_options=options)
    return debugger.get_nondebug_quantized_model()


def restore_float32_head(float16_flatbuffer, float32_flatbuffer):
    """The float16 model with every constant its head dequantises put back in float32.

    Each float16 constant a head operator reads (through a DEQUANTIZE) becomes the
    float32 constant of the float32 model that rounds to it, and the DEQUANTIZE goes.

    Raises:
        ValueError: a constant has no float32 original, or more than one.
    """
    model, reference = _model(float16_flatbuffer), _model(float32_flatbuffer)
    subgraph, names = model.subgraphs[0], _opcode_names(model)
    originals = {}
    for tensor in reference.subgraphs[0].tensors:
        data = reference.buffers[tensor.buffer].data if tensor.buffer else None
        if tensor.type == FLOAT32 and data is not None and len(data):
            values = np.frombuffer(bytes(bytearray(data)), dtype="<f4").reshape(tensor.shape)
            key = (tuple(tensor.shape), values.astype("<f2").tobytes())
            originals.setdefault(key, {})[values.tobytes()] = values
    head_inputs = {t for i in _head_operators(model) for t in subgraph.operators[i].inputs}
    removed = []
    for index, op in enumerate(subgraph.operators):
        if names[op.opcodeIndex] != "DEQUANTIZE" or op.outputs[0] not in head_inputs:
            continue
        source = subgraph.tensors[op.inputs[0]]
        if source.type != FLOAT16:
            continue
        key = (tuple(source.shape), bytes(bytearray(model.buffers[source.buffer].data)))
        candidates = list(originals.get(key, {}).values())
        if len(candidates) != 1:
            raise ValueError(f"The head constant {source.name.decode()!r} has {len(candidates)} "
                             "float32 originals in the float32 model (expected exactly one)")
        from tensorflow.lite.python import schema_py_generated as schema

        buffer = schema.BufferT()
        buffer.data = np.frombuffer(candidates[0].astype("<f4").tobytes(), dtype=np.uint8)
        model.buffers.append(buffer)
        subgraph.tensors[op.outputs[0]].buffer = len(model.buffers) - 1
        removed.append(index)
    subgraph.operators = [op for i, op in enumerate(subgraph.operators) if i not in set(removed)]
    return _bytes(model)
