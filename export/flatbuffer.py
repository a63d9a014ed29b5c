"""Reading and rewriting TFLite files as objects (TensorFlow's flatbuffer schema)."""


def read(flatbuffer):
    """The `ModelT` object of .tflite bytes."""
    from tensorflow.lite.tools import flatbuffer_utils

    return flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))


def write(model):
    """.tflite bytes of a `ModelT` object."""
    from tensorflow.lite.tools import flatbuffer_utils

    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def operator_names(model):
    """The name of each operator code of `model` (custom ops as CUSTOM:<code>)."""
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    result = []
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = names.get(builtin, str(builtin))
        if name == "CUSTOM":
            name = f"CUSTOM:{(code.customCode or b'').decode(errors='replace')}"
        result.append(name)
    return result
