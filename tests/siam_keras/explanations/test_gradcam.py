import sys

import keras
import numpy as np
import pytest

from siam_keras.explanations import GradCAM
from siam_keras.explanations.base import feature_tensor, with_feature_layer
from siam_keras.models import get_siam_layer
from tests.conftest import TINY_ATTRIBUTES


def _features(model, images):
    return np.asarray(keras.Model(model.input, feature_tensor(model))(images.astype("float32")))


def test_matches_the_closed_form_on_a_siam_attribute_score(tiny_siam, tiny_scenes):
    """score_k = mean_hw relu(A W_k + b_k): dscore/dA = W_k [active] / HW, so the
    Grad-CAM weights are W_k times the share of active cells over HW."""
    images = tiny_scenes["image"][:4]
    cams = GradCAM(tiny_siam)(images, ["trees", "scenicness"])
    features = _features(tiny_siam, images).astype("float64")
    layer = get_siam_layer(tiny_siam)
    k = TINY_ATTRIBUTES.index("trees")
    kernel = np.asarray(layer.attribute_kernel)[0, 0, :, k]
    active = (features @ kernel + np.asarray(layer.attribute_bias)[k]) > 0
    cells = features.shape[1] * features.shape[2]
    weights = kernel[None] * active.sum(axis=(1, 2))[:, None] / cells**2
    expected = np.maximum(np.einsum("bhwc,bc->bhw", features, weights), 0.0)
    np.testing.assert_allclose(cams["trees"], expected, rtol=1e-4, atol=1e-7)
    assert cams["scenicness"].shape == (4, 8, 8) and (cams["scenicness"] >= 0).all()


def test_one_shared_forward_pass_gives_the_same_maps(tiny_siam, tiny_scenes):
    images = tiny_scenes["image"][:5]
    targets = [*TINY_ATTRIBUTES, "scenicness"]
    per_pass = GradCAM(tiny_siam, batch_size=2)(images, targets)
    shared = GradCAM(tiny_siam, batch_size=2, shared_forward=True)(images, targets)
    for name in targets:
        np.testing.assert_allclose(per_pass[name], shared[name], rtol=1e-5, atol=1e-7)


def test_baseline_outputs_are_targets_attributes_are_not(tiny_models, tiny_scenes):
    from siam_keras.saving import load_model

    gradcam = GradCAM(load_model(tiny_models[1]))
    assert gradcam(tiny_scenes["image"][:2], "scenicness")["scenicness"].shape == (2, 8, 8)
    with pytest.raises(ValueError, match=r"Unknown Grad-CAM target 'trees'.*outputs"):
        gradcam(tiny_scenes["image"][:2], ["trees"])


def test_with_feature_layer_is_the_same_model(tiny_siam, tiny_scenes):
    images = tiny_scenes["image"][:3].astype("float32")
    flat = with_feature_layer(tiny_siam)
    for key, value in tiny_siam.predict_on_batch(images).items():
        np.testing.assert_array_equal(flat.predict_on_batch(images)[key], value)
    only = with_feature_layer(tiny_siam, output_key="attribute_scores")
    assert only.output_shape == (None, len(TINY_ATTRIBUTES))


TF_KERAS_VIS = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                  reason="tf-keras-vis runs on TensorFlow only")


@TF_KERAS_VIS
def test_gradcam_plus_plus_from_tf_keras_vis(tiny_siam, tiny_scenes):
    from siam_keras.explanations.gradcam_plus_plus import GradCAMPlusPlus

    images = tiny_scenes["image"][:3]
    cams = GradCAMPlusPlus(tiny_siam)(images, ["trees", "scenicness"])
    for cam in cams.values():
        assert cam.shape == (3, 8, 8) and np.isfinite(cam).all() and (cam >= 0).all()
    assert cams["trees"].max() > 0


@TF_KERAS_VIS
def test_missing_tf_keras_vis_names_the_extra(tiny_siam, monkeypatch):
    from siam_keras.explanations.gradcam_plus_plus import GradCAMPlusPlus

    monkeypatch.setitem(sys.modules, "tf_keras_vis.gradcam_plus_plus", None)
    with pytest.raises(ImportError, match=r"siam-keras\[posthoc\]"):
        GradCAMPlusPlus(tiny_siam)


def test_gradcam_plus_plus_refuses_another_backend(tiny_siam, monkeypatch):
    from siam_keras.explanations.gradcam_plus_plus import GradCAMPlusPlus

    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(ValueError, match=r"needs Keras' TensorFlow backend.*backend='torch'"):
        GradCAMPlusPlus(tiny_siam)


def test_compiled_maps_follow_the_weights(tiny_models, tiny_scenes):
    """The compiled function reads the model's current weights (JAX would bake them in)."""
    from siam_keras.saving import load_model

    model = load_model(tiny_models[0])
    gradcam, images = GradCAM(model), tiny_scenes["image"][:2]
    before = gradcam(images, "trees")["trees"]
    layer = get_siam_layer(model)
    for weight in (layer.attribute_kernel, layer.attribute_bias):  # same active cells
        weight.assign(2.0 * np.asarray(weight))
    after = gradcam(images, "trees")["trees"]
    assert before.max() > 0
    np.testing.assert_allclose(after, 2.0 * before, rtol=1e-4, atol=1e-7)
