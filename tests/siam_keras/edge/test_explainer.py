import numpy as np
import pytest

from siam_keras.edge import EdgeExplainer
from siam_keras.explanations import SIAMExplainer

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("variant, atol", [("float32", 1e-4), ("float16", 2e-2), ("int8", 0.15)])
def test_edge_explanation_matches_keras_within_the_variant(tiny_export, tiny_siam, tiny_scenes,
                                                           variant, atol):
    edge = EdgeExplainer(tiny_export / "tflite" / f"model_{variant}.tflite")
    images = tiny_scenes["image"][:6]
    got, expected = edge(images, top_k=3), SIAMExplainer(tiny_siam)(images, top_k=3)
    assert got.attribute_names == expected.attribute_names and edge.image_size == (32, 32)
    for name in expected.output_names:
        np.testing.assert_allclose(got.outputs[name].value, expected.outputs[name].value, atol=atol)
        np.testing.assert_allclose(got.outputs[name].contributions,
                                   expected.outputs[name].contributions, atol=atol)
        assert got.outputs[name].max_residual <= edge.tolerance
    scale = np.abs(expected.attribute_maps).max()
    np.testing.assert_allclose(got.attribute_maps, expected.attribute_maps, atol=atol * scale)


def test_bad_input_and_missing_files(tiny_export, tmp_path):
    model = tiny_export / "tflite" / "model_float32.tflite"
    edge = EdgeExplainer(model)
    with pytest.raises(ValueError, match=r"\(batch, 32, 32, 3\).*Received: shape \(1, 64, 64, 3\)"):
        edge(np.zeros((1, 64, 64, 3)))
    with pytest.raises(FileNotFoundError, match="Model file not found"):
        EdgeExplainer(tmp_path / "none.tflite")
    lonely = tmp_path / "model.tflite"
    lonely.write_bytes(model.read_bytes())
    with pytest.raises(FileNotFoundError, match="sidecar not found"):
        EdgeExplainer(lonely)
    (tmp_path / "siam_model.json").write_text((model.parent / "siam_model.json").read_text())
    (tmp_path / "broken.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(ValueError, match="not one of the models this sidecar describes"):
        EdgeExplainer(tmp_path / "broken.tflite")


def test_the_variant_is_known_from_the_model_itself_whatever_its_name(tiny_export, tmp_path):
    for variant in ("int8", "float16"):
        renamed = tmp_path / f"phone_{variant}_copy.tflite"
        renamed.write_bytes((tiny_export / "tflite" / f"model_{variant}.tflite").read_bytes())
        edge = EdgeExplainer(renamed, tiny_export / "tflite" / "siam_model.json")
        assert edge.variant == variant and edge.tolerance == 1e-4
