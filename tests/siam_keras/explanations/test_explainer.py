import json

import keras
import numpy as np
import pytest

from siam_keras.explanations import ExplanationError, HeadWeights, SIAMExplainer, SIAMExplanation
from siam_keras.runtime.upsampling import upsample
from tests.conftest import TINY_ATTRIBUTES, TINY_OUTPUTS


@pytest.fixture
def explainer(tiny_siam):
    return SIAMExplainer(tiny_siam, batch_size=8)


@pytest.fixture
def images(tiny_scenes):
    return tiny_scenes["image"]


def test_one_forward_pass_gives_prediction_and_explanation(tiny_siam, images):
    calls = []
    original = tiny_siam.predict_on_batch

    class Counting:
        """Delegates to the model, counting forward passes."""

        def __getattr__(self, name):
            return getattr(tiny_siam, name)

        def predict_on_batch(self, x):
            calls.append(len(x))
            return original(x)

    explainer = SIAMExplainer(tiny_siam, batch_size=len(images))
    explainer.model = Counting()
    explanation = explainer(images)
    assert calls == [len(images)]
    assert len(explanation) == len(images)


def test_explanation_adds_up_and_equals_the_prediction(explainer, tiny_siam, images):
    explanation = explainer(images, top_k=3)
    predicted = tiny_siam.predict(images.astype("float32"), verbose=0)
    assert explanation.attribute_names == TINY_ATTRIBUTES and explanation.output_names == TINY_OUTPUTS
    np.testing.assert_allclose(explanation.attribute_maps, predicted["attribute_maps"], atol=1e-5)
    for name in TINY_OUTPUTS:
        explained = explanation.outputs[name]
        np.testing.assert_allclose(explained.value, predicted[name], atol=1e-5)
        np.testing.assert_allclose(explained.contributions.sum(1) + explained.bias, explained.value,
                                   atol=1e-5)
        np.testing.assert_allclose(explained.attribute_relevance.sum(axis=(1, 2)),
                                   explained.contributions, atol=1e-5)
        np.testing.assert_allclose(explained.spatial_contributions.sum(axis=(1, 2)),
                                   explained.value - explained.bias, atol=1e-4)
        assert explained.attribute_relevance.shape == (12, 8, 8, 8) and explained.top_k.shape == (12, 3)
        magnitudes = np.abs(np.take_along_axis(explained.contributions, explained.top_k, axis=1))
        assert (np.diff(magnitudes, axis=1) <= 0).all()
        assert magnitudes[:, 0].max() > 0 and explained.max_residual < 1e-5
    assert explanation.upsampled_attribute_maps.shape == (12, 32, 32, 8)
    np.testing.assert_allclose(explanation.upsampled_attribute_maps,
                               upsample(explanation.attribute_maps, 32), atol=1e-6)


def test_json_holds_the_numbers_of_the_prediction(explainer, tiny_siam, images):
    explanation = explainer(images)
    predicted = tiny_siam.predict(images[2:3].astype("float32"), verbose=0)
    data = json.loads(json.dumps(explanation.to_json(2, labels={"scenicness": 6.5,
                                                               "scenicness_variance": float("nan")})))
    entry = data["outputs"]["scenicness"]
    assert abs(entry["value"] - float(predicted["scenicness"][0])) < 1e-5
    assert entry["label"] == 6.5 and "label" not in data["outputs"]["scenicness_variance"]
    contributions = [entry["contributions"][a] for a in TINY_ATTRIBUTES]
    np.testing.assert_allclose(contributions, predicted["scenicness_contributions"][0], atol=1e-5)
    assert abs(sum(contributions) + entry["bias"] - entry["value"]) < 1e-5
    assert [t["attribute"] for t in entry["top_k"]] == [
        TINY_ATTRIBUTES[j] for j in np.argsort(-np.abs(contributions), kind="stable")]
    assert np.shape(data["attribute_maps"]["trees"]) == (8, 8)
    assert np.shape(entry["spatial_contributions"]) == (8, 8)


def test_removing_an_attribute_changes_the_output_by_its_contribution(explainer, images):
    explanation = explainer(images)
    for k, attribute in enumerate(TINY_ATTRIBUTES):
        what_if = explainer.intervene(images, {attribute: 0.0})
        for name in TINY_OUTPUTS:
            contribution = explanation.outputs[name].contributions[:, k]
            np.testing.assert_allclose(what_if.output_change[name], -contribution, atol=1e-5)
            np.testing.assert_allclose(what_if.contribution_change[name][:, k], -contribution,
                                       atol=1e-5)
            others = np.delete(what_if.contribution_change[name], k, axis=1)
            np.testing.assert_allclose(others, 0.0, atol=1e-6)


def test_scaling_and_local_removal_follow_the_spatial_split(explainer, images):
    explanation = explainer(images)
    relevance = explanation.outputs["scenicness"].attribute_relevance
    doubled = explainer.intervene(images, {"trees": 2.0})
    k = TINY_ATTRIBUTES.index("trees")
    np.testing.assert_allclose(doubled.counterfactual_contributions["scenicness"][:, k],
                               2 * explanation.outputs["scenicness"].contributions[:, k], atol=1e-5)
    # "What if there were no road in the lower half?": the road contribution keeps
    # exactly the relevance of the upper half.
    lower_half = np.ones((8, 8), "float32")
    lower_half[4:] = 0.0
    local = explainer.intervene(images, {"road": lower_half})
    r = TINY_ATTRIBUTES.index("road")
    np.testing.assert_allclose(local.counterfactual_contributions["scenicness"][:, r],
                               relevance[:, :4, :, r].sum(axis=(1, 2)), atol=1e-5)


@pytest.mark.parametrize("factors, error, match", [
    ({"lakes": 0.0}, ValueError, "Unknown attribute 'lakes'"),
    ({"road": -1.0}, ValueError, ">= 0"),
    ({"road": float("nan")}, ValueError, "finite"),
    ({"road": np.ones((3, 3))}, ValueError, "does not broadcast"),
    ({"road": "none"}, TypeError, "number or a NumPy array"),
    ({}, TypeError, "non-empty dict"),
])
def test_bad_interventions_are_refused(explainer, images, factors, error, match):
    with pytest.raises(error, match=match):
        explainer.intervene(images[:2], factors)


def test_bad_images_and_models_are_refused(explainer, tiny_models):
    from siam_keras.saving import load_model

    with pytest.raises(ValueError, match=r"\(batch, 32, 32, 3\).*Received: shape \(2, 30, 32, 3\)"):
        explainer(np.zeros((2, 30, 32, 3)))
    with pytest.raises(TypeError, match="numbers"):
        explainer(np.full((1, 32, 32, 3), "x"))
    with pytest.raises(ValueError, match="top_k"):
        explainer(np.zeros((1, 32, 32, 3)), top_k=0)
    with pytest.raises(ValueError, match="not a SIAMModel"):
        SIAMExplainer(load_model(tiny_models[1]))
    assert len(explainer(np.zeros((32, 32, 3), "uint8"))) == 1  # one image, no batch axis


def test_changed_weights_are_picked_up(tiny_models, images):
    from siam_keras.models import get_siam_layer
    from siam_keras.saving import load_model

    model = load_model(tiny_models[0])
    explainer = SIAMExplainer(model)
    explainer(images)
    bias = get_siam_layer(model).biases["scenicness"]
    bias.assign(bias.numpy() + 3.0)
    explanation = explainer(images)  # stale copy detected by the check, re-read
    assert explanation.outputs["scenicness"].bias == pytest.approx(float(bias.numpy()))


def test_numbers_that_do_not_add_up_are_refused(explainer, tiny_siam, images):
    predictions = {k: np.asarray(v) for k, v in tiny_siam.predict(
        images[:4].astype("float32"), verbose=0).items()}
    predictions["scenicness_contributions"][1, 2] += 0.5
    head = HeadWeights.from_layer(explainer.layer)
    with pytest.raises(ExplanationError, match="'scenicness'.*off by"):
        SIAMExplanation.from_predictions(head, predictions, (32, 32))
    del predictions["attribute_maps"]
    with pytest.raises(ExplanationError, match="lacks"):
        SIAMExplanation.from_predictions(head, predictions, (32, 32))


def test_every_explainer_shares_one_base_and_the_advertised_names_import(tiny_siam):
    from siam_keras.explanations import (
        GradCAM,
        GradCAMPlusPlus,
        ModelExplainer,
        SIAMExplainer,
    )
    from siam_keras.runtime.prediction_explainer import PredictionExplainer

    explainers = [SIAMExplainer(tiny_siam), GradCAM(tiny_siam)]
    if keras.backend.backend() == "tensorflow":  # tf-keras-vis runs on TensorFlow only
        explainers.append(GradCAMPlusPlus(tiny_siam))
    for explainer in explainers:
        assert isinstance(explainer, ModelExplainer)
        assert explainer.image_size == (32, 32) and explainer.attribute_names[0] == "sky"
    assert isinstance(SIAMExplainer(tiny_siam), PredictionExplainer)
    with pytest.raises(TypeError, match="needs a SIAMModel or a BaselineModel"):
        GradCAM(object())


def _assert_empty(explanation, num_attributes):
    output = explanation.output("scenicness")
    assert output.value.shape == (0,)
    assert output.contributions.shape == (0, num_attributes)
    assert explanation.attribute_maps.shape[0] == 0


def test_no_images_give_an_empty_explanation_of_the_right_shapes(explainer):
    """An empty batch (the last shard of a split, a folder filtered to nothing) is
    explained as empty instead of failing."""
    empty = np.zeros((0, 32, 32, 3), "float32")
    _assert_empty(explainer(empty), len(explainer.attribute_names))
    what_if = explainer.intervene(empty, {explainer.attribute_names[0]: 0.0})
    assert what_if.output_change["scenicness"].shape == (0,)


@pytest.mark.slow  # the TFLite model comes from siam-export (TensorFlow)
def test_litert_explains_no_images_as_empty(explainer, tiny_export):
    from siam_keras.edge import EdgeExplainer

    edge = EdgeExplainer(tiny_export / "tflite" / "model_float32.tflite")
    _assert_empty(edge(np.zeros((0, 32, 32, 3), "float32")), len(explainer.attribute_names))
