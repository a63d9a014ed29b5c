"""A classification output's explanation, in NumPy: the decomposition, the checks, the JSON."""

import numpy as np
import pytest

from siam_keras.runtime.decomposition import HeadWeights, OutputHead, decompose
from siam_keras.runtime.explanation import ExplanationError, SIAMExplanation
from siam_keras.runtime.output_kinds import Classification
from siam_keras.runtime.sidecar import ModelSidecar

CLASSES = ("coast", "forest", "town")
NAMES = ("water", "trees", "road", "sky")


def _head(rng, per_class):
    shape = (4, 4, 4, 2) + ((3,) if per_class else ())
    return OutputHead(cell_templates=np.abs(rng.normal(size=shape)).astype("float32") / 16,
                      mixing=rng.normal(size=(4, 2, 3)).astype("float32"),
                      bias=rng.normal(size=3).astype("float32"), kind=Classification(CLASSES))


def _predictions(head, maps):
    """The forward pass in NumPy, from the definition (not from `decompose`)."""
    cells = head.cell_templates
    contributions = np.zeros((len(maps), 4, 3), "float32")
    for c in range(3):
        templates = cells[..., c] if cells.ndim == 5 else cells
        responses = np.maximum(np.einsum("bhwk,hwkg->bkg", maps, templates), 0)
        contributions[..., c] = (responses * head.mixing[..., c]).sum(-1)
    return {"attribute_maps": maps, "attribute_scores": maps.mean(axis=(1, 2)),
            "landscape": contributions.sum(axis=1) + head.bias,
            "landscape_contributions": contributions}


@pytest.mark.parametrize("per_class", [False, True])
def test_each_class_splits_exactly_over_the_grid(rng, per_class):
    head = _head(rng, per_class)
    maps = np.abs(rng.normal(size=(2, 4, 4, 4))).astype("float32")
    split = decompose(head, maps)
    assert split.relevance.shape == (2, 4, 4, 4, 3) and split.spatial.shape == (2, 4, 4, 3)
    np.testing.assert_allclose(split.contributions, _predictions(head, maps)["landscape_contributions"],
                               atol=1e-5)
    np.testing.assert_allclose(split.relevance.sum(axis=(1, 2)), split.contributions, atol=1e-5)


def test_the_json_names_the_predicted_class_the_runner_up_and_what_separates_them(rng):
    head = HeadWeights(NAMES, {"landscape": _head(rng, False)})
    maps = np.abs(rng.normal(size=(2, 4, 4, 4))).astype("float32")
    predictions = _predictions(head.outputs["landscape"], maps)
    explanation = SIAMExplanation.from_predictions(head, predictions, (32, 32), top_k=2)
    entry = explanation.to_json(1, labels={"landscape": 0})["outputs"]["landscape"]
    logits = predictions["landscape"][1]
    first, second = np.argsort(-logits)[:2]
    assert entry["kind"] == "classification" and entry["label"] == "coast"
    assert (entry["value"], entry["runner_up"]) == (CLASSES[first], CLASSES[second])
    assert sum(entry["probabilities"].values()) == pytest.approx(1.0)
    versus = entry["versus_runner_up"]
    assert versus["logit_difference"] == pytest.approx(float(logits[first] - logits[second]), abs=1e-5)
    assert versus["bias_difference"] + sum(versus["contributions"].values()) == pytest.approx(
        versus["logit_difference"], abs=1e-5)
    # Ranked by what each attribute adds to the predicted class beyond its mean over the
    # classes (what softmax sees), and reported as that.
    contributions = predictions["landscape_contributions"][1]
    centred = contributions[:, first] - contributions.mean(axis=1)
    assert [t["attribute"] for t in entry["top_k"]] == [NAMES[j] for j in np.argsort(-np.abs(centred))[:2]]
    assert entry["top_k"][0]["contribution"] == pytest.approx(
        float(centred[np.argmax(np.abs(centred))]), abs=1e-5)
    assert np.asarray(entry["spatial_contributions"]).sum() == pytest.approx(
        float(logits[first] - head.outputs["landscape"].bias[first]), abs=1e-4)


def test_logits_that_do_not_add_up_are_refused_naming_the_class(rng):
    head = HeadWeights(NAMES, {"landscape": _head(rng, True)})
    predictions = _predictions(head.outputs["landscape"],
                               np.abs(rng.normal(size=(2, 4, 4, 4))).astype("float32"))
    predictions["landscape"][:, 2] += 0.5
    with pytest.raises(ExplanationError, match=r"landscape\[town\]"):
        SIAMExplanation.from_predictions(head, predictions, (32, 32))
    predictions["landscape"] = predictions["landscape"][:, :2]
    with pytest.raises(ExplanationError, match=r"expected \(batch, 3\) logits"):
        SIAMExplanation.from_predictions(head, predictions, (32, 32))


def test_the_sidecar_keeps_the_classes_and_a_bad_head_is_refused(rng):
    head = HeadWeights(NAMES, {"landscape": _head(rng, True)})
    sidecar = ModelSidecar("m", NAMES, ("landscape",), (32, 32), head)
    assert sidecar.to_json()["format"] == "siam-keras-model/2"  # a format-1 reader refuses it
    back = ModelSidecar.from_json(sidecar.to_json())
    assert back.head.output_classes == {"landscape": CLASSES}
    np.testing.assert_array_equal(back.head.outputs["landscape"].cell_templates,
                                  head.outputs["landscape"].cell_templates)
    damaged = sidecar.to_json()
    damaged["head"]["landscape"]["bias"] = [0.0, 1.0]
    with pytest.raises(ValueError, match="incomplete or damaged sidecar"):
        ModelSidecar.from_json(damaged)
