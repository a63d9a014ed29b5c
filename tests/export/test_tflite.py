import numpy as np
import pytest

from export import tflite
from export.variants import parse_variants
from siam_keras.models import build_siam_model
from siam_keras.models.dtype_policy import layer_policies


def test_parse_variants_keeps_the_report_order_and_names_the_choices():
    assert parse_variants("int8, float32") == ("float32", "int8")
    with pytest.raises(ValueError, match=r"\['int4'\].*float32, float16, dynamic, int8"):
        parse_variants("float32,int4")
    with pytest.raises(ValueError, match="Choose from"):
        parse_variants(" , ")


@pytest.mark.slow
def test_mixed_precision_model_converts_to_builtins_through_its_float32_twin(tmp_path, rng):
    mixed = build_siam_model(["a", "b", "c"], ["scenicness"], image_size=32, template_size=4,
                             border_size=0, dtype_policy="mixed_float16")
    twin = tflite.float32_copy(mixed)
    assert twin is not mixed
    assert layer_policies(twin) == {"float32"} and type(twin) is type(mixed)
    images = (rng.random((2, 32, 32, 3)) * 255).astype("float32")
    for key, value in mixed.predict(images, verbose=0).items():
        np.testing.assert_allclose(twin.predict(images, verbose=0)[key], value, rtol=2e-2, atol=2e-2)
    converted, quantised_whole = tflite.convert(mixed, ("float32", "int8"), calibration=images)
    assert set(quantised_whole) == {"int8"}
    for variant, data in converted.items():
        path = tmp_path / f"{variant}.tflite"
        path.write_bytes(data)
        tflite.check_builtin_ops(path)
        assert not any(op.startswith("CUSTOM") for op in tflite.operators(path))
    float32_model = build_siam_model(["a"], ["s"], image_size=32, template_size=4, border_size=0)
    assert tflite.float32_copy(float32_model) is float32_model


def test_flex_ops_are_caught_in_any_subgraph(tmp_path):
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((1, 4), tf.float32)])
    def uses_tensorflow_ops(x):
        return {"y": tf.cast(tf.strings.to_hash_bucket_fast(tf.strings.as_string(x), 7), tf.float32)}

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [uses_tensorflow_ops.get_concrete_function()], uses_tensorflow_ops)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                           tf.lite.OpsSet.SELECT_TF_OPS]
    path = tmp_path / "flex.tflite"
    path.write_bytes(converter.convert())
    assert any(op.startswith("CUSTOM:Flex") for op in tflite.operators(path))
    with pytest.raises(ValueError, match="non-builtin ops.*Flex"):
        tflite.check_builtin_ops(path)


def test_int8_needs_calibration_images(tiny_siam):
    with pytest.raises(ValueError, match="calibration"):
        tflite.convert(tiny_siam, ("int8",), calibration=None)


@pytest.mark.slow
def test_stripping_names_keeps_the_signature_and_the_numbers(tiny_export, tiny_scenes):
    from ai_edge_litert.interpreter import Interpreter

    path = tiny_export / "tflite" / "model_float32.tflite"
    interpreter = Interpreter(model_path=str(path))
    assert list(interpreter.get_signature_list()) == ["serving_default"]
    outputs = interpreter.get_signature_runner("serving_default")(
        image=tiny_scenes["image"][:1].astype("float32"))
    assert {"attribute_maps", "attribute_scores", "scenicness", "scenicness_contributions",
            "scenicness_variance", "scenicness_variance_contributions"} == set(outputs)
    assert all(not d["name"] for d in interpreter.get_tensor_details())
