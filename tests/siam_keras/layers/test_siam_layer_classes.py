"""`SIAMLayer` with a classification output: (B, C) logits, (B, K, C) contributions."""

import keras
import numpy as np
import pytest

from siam_keras.layers import SIAMLayer
from tests.layer_checks import run_layer_test
from tests.siam_keras.layers.test_siam_layer import ATTRIBUTES, _randomise, _weights

CLASSES = ["coast", "forest", "town"]


def numpy_class_head(features, weights, class_templates, template_size):
    """Independent NumPy classification head (no border), a loop over classes."""
    maps = np.maximum(np.tensordot(features, weights["attribute_kernel"][0, 0], axes=([3], [0]))
                      + weights["attribute_bias"], 0.0)
    batch, height, width, k = maps.shape
    step = height // template_size  # the tests use grids divisible by the template size
    pooled = maps.reshape(batch, template_size, step, template_size, step, k).mean(axis=(2, 4))
    contributions = np.zeros((batch, k, len(CLASSES)))
    for c in range(len(CLASSES)):
        templates = weights["habitat_templates"]
        templates = templates[..., c] if class_templates == "per_class" else templates
        responses = np.maximum(np.einsum("bstk,stkg->bkg", pooled, templates), 0.0)
        contributions[..., c] = (responses * weights["habitat_mixing"][..., c]).sum(-1)
    return contributions, contributions.sum(axis=1) + weights["habitat_bias"]


@pytest.mark.parametrize("class_templates", ["shared", "per_class"])
def test_class_contributions_match_numpy_and_sum_to_the_logits(class_templates, rng):
    features = rng.normal(size=(3, 8, 8, 5)).astype("float32")
    layer = SIAMLayer(ATTRIBUTES, output_names=["scenicness", "habitat"],
                      output_classes={"habitat": CLASSES}, class_templates=class_templates,
                      template_size=4, border_size=0)
    layer.build(features.shape)
    _randomise(layer, rng)
    weights = _weights(layer)
    shape = (4, 4, len(ATTRIBUTES), 2) + ((3,) if class_templates == "per_class" else ())
    assert weights["habitat_templates"].shape == shape
    assert weights["habitat_mixing"].shape == (len(ATTRIBUTES), 2, 3)
    got = {k: np.asarray(v, "float64") for k, v in layer(features).items()}
    contributions, logits = numpy_class_head(features.astype("float64"), weights, class_templates, 4)
    np.testing.assert_allclose(got["habitat_contributions"], contributions, atol=1e-5)
    np.testing.assert_allclose(got["habitat"], logits, atol=1e-5)
    residual = got["habitat"] - got["habitat_contributions"].sum(axis=1) - weights["habitat_bias"]
    assert np.abs(residual).max() < 1e-5
    assert got["scenicness"].shape == (3,)  # the regression output is unchanged


def test_a_classification_layer_passes_the_layer_checks(tmp_path, rng):
    run_layer_test(
        SIAMLayer,
        {"attribute_names": ATTRIBUTES, "output_names": ["habitat"], "template_size": 4,
         "border_size": 0, "output_classes": {"habitat": CLASSES},
         "initial_biases": {"habitat": [0.1, -0.2, 0.3]}},
        rng.normal(size=(2, 8, 8, 5)).astype("float32"),
        {"attribute_maps": (2, 8, 8, 4), "attribute_scores": (2, 4), "habitat": (2, 3),
         "habitat_contributions": (2, 4, 3)},
        tmp_path,
    )


def test_per_class_initial_biases_and_linear_head(rng):
    layer = SIAMLayer(ATTRIBUTES, output_names=["habitat"], head="linear", border_size=0,
                      output_classes={"habitat": CLASSES}, initial_biases={"habitat": [1, 2, 3]})
    out = layer(rng.normal(size=(2, 6, 6, 5)).astype("float32"))
    np.testing.assert_allclose(np.asarray(layer.biases["habitat"]), [1, 2, 3])
    scores = np.asarray(out["attribute_scores"])
    expected = scores[:, :, None] * np.asarray(layer.mixing["habitat"])[None, :, 0, :]
    np.testing.assert_allclose(np.asarray(out["habitat_contributions"]), expected, atol=1e-6)


def test_mixed_float16_keeps_class_outputs_float32(rng):
    keras.config.set_dtype_policy("mixed_float16")
    layer = SIAMLayer(ATTRIBUTES, output_names=["habitat"], output_classes={"habitat": CLASSES},
                      template_size=4, border_size=0)
    out = layer(rng.normal(size=(2, 8, 8, 5)).astype("float16"))
    assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in out.values())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"output_classes": {"other": CLASSES}}, ValueError, r"names unknown outputs \['other'\]"),
    ({"output_classes": {"habitat": ["one"]}}, ValueError, "at least 2 unique"),
    ({"output_classes": {"habitat": ["a", "a"]}}, ValueError, "at least 2 unique"),
    ({"output_classes": {"habitat": "ab"}}, TypeError, "must be a list of names"),
    ({"output_classes": ["habitat"]}, TypeError, "must be a dict"),
    ({"class_templates": "each"}, ValueError, r"`class_templates` must be one of"),
    ({"output_classes": {"habitat": CLASSES}, "initial_biases": {"habitat": [1.0, 2.0]}},
     ValueError, "must be a number or 3 finite numbers"),
])
def test_bad_class_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        SIAMLayer(ATTRIBUTES, output_names=["habitat"], **kwargs)
