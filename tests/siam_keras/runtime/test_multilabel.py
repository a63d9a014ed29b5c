"""A multi-label output in NumPy: manifest cells, training targets, the explanation, its
JSON and table row, the sidecar, and its metrics."""

import json

import numpy as np
import pytest

from siam_keras.metrics import multilabel
from siam_keras.runtime.decomposition import HeadWeights, OutputHead
from siam_keras.runtime.explanation import SIAMExplanation
from siam_keras.runtime.explanation_table import explanation_row, table_columns
from siam_keras.runtime.json_schema import load_schema, validate
from siam_keras.runtime.output_kinds import MultiLabel, output_kind
from siam_keras.runtime.sidecar import FORMATS, ModelSidecar

TAGS = ("waterside", "wooded", "built_up")
NAMES = ("water", "trees", "road", "sky")
KIND = MultiLabel(TAGS)


def _explanation(rng):
    head = OutputHead(cell_templates=np.abs(rng.normal(size=(4, 4, 4, 2))).astype("float32") / 16,
                      mixing=rng.normal(size=(4, 2, 3)).astype("float32"),
                      bias=np.array([2.0, -3.0, 0.1], "float32"), kind=KIND)
    maps = np.abs(rng.normal(size=(2, 4, 4, 4))).astype("float32")
    responses = np.maximum(np.einsum("bhwk,hwkg->bkg", maps, head.cell_templates), 0)
    contributions = np.einsum("bkg,kgt->bkt", responses, head.mixing).astype("float32")
    weights = HeadWeights(NAMES, {"tags": head})
    predictions = {"attribute_maps": maps, "attribute_scores": maps.mean(axis=(1, 2)),
                   "tags": contributions.sum(axis=1) + head.bias, "tags_contributions": contributions}
    return weights, SIAMExplanation.from_predictions(weights, predictions, (32, 32))


def test_a_manifest_cell_lists_the_tags_present():
    assert KIND.parse_label(" wooded;waterside ;;") == ("waterside", "wooded")
    assert KIND.parse_label(";") == ()
    encoded = KIND.encode([("wooded",), None, ()])
    np.testing.assert_array_equal(encoded[[0, 2]], [[0, 1, 0], [0, 0, 0]])
    assert np.isnan(encoded[1]).all()
    targets, weights = KIND.targets(encoded)
    assert weights.tolist() == [1, 0, 1] and not np.isnan(targets).any()


def test_the_initial_bias_is_each_tags_smoothed_log_odds():
    labels = KIND.encode([("waterside",), ("waterside", "wooded"), (), None])
    share = np.array([3, 2, 1]) / 5  # (count + 1) / (known + 2)
    np.testing.assert_allclose(KIND.initial_bias(labels), np.log(share / (1 - share)))


def test_each_tag_is_explained_on_its_own_logit(rng):
    _, explanation = _explanation(rng)
    tags = explanation.output("tags")
    p = 1 / (1 + np.exp(-tags.value[0]))
    np.testing.assert_allclose(tags.probabilities(0), p, rtol=1e-6)
    shown = tags.shown(0)  # no contrast: the most likely tag's logit
    best = int(np.argmax(tags.value[0]))
    assert shown.label == f"tags = {TAGS[best]}"
    np.testing.assert_allclose(shown.value, tags.value[0, best], rtol=1e-6)
    np.testing.assert_allclose(shown.bias + shown.contributions.sum(), shown.value, atol=1e-5)
    np.testing.assert_allclose(tags.ranked_contributions(0), tags.contributions[0, :, best])
    entry = explanation.to_json(0, {"tags": np.array([1.0, 0.0, 1.0])})["outputs"]["tags"]
    assert entry["kind"] == "multilabel" and entry["tags"] == list(TAGS)
    assert entry["value"] == [TAGS[t] for t in np.argsort(-p) if p[t] >= 0.5]
    assert entry["label"] == ["waterside", "built_up"] and entry["shown"] == TAGS[best]
    json.dumps(entry)


def test_the_table_lists_present_tags_and_every_tags_logit(rng):
    weights, explanation = _explanation(rng)
    columns = table_columns(NAMES, weights)
    assert columns["tags"] == "string" and columns["tags.wooded"] == "float"
    row = explanation_row(explanation, 0, "a.png")
    assert set(row) <= set(columns)
    tags = explanation.output("tags")
    assert row["tags"] == ";".join(entry for entry in explanation.to_json(0)["outputs"]["tags"]
                                   ["value"])
    assert row["tags.probability"] == pytest.approx(tags.probabilities(0).max())


def test_a_multilabel_sidecar_is_format_3_and_follows_the_schema(rng):
    weights, _ = _explanation(rng)
    sidecar = ModelSidecar(name="m", attribute_names=NAMES, output_names=("tags",),
                           image_size=(32, 32), head=weights)
    data = sidecar.to_json()
    assert data["format"] == FORMATS[2] == "siam-keras-model/3"
    assert data["head"]["tags"]["kind"] == "multilabel"
    schema = load_schema("siam_model")
    validate(json.loads(json.dumps(data["head"]["tags"])), {**schema["$defs"]["head"],
                                                            "$defs": schema["$defs"]})
    assert ModelSidecar.from_json(data).head.output_kinds["tags"] == KIND
    assert output_kind(data["head"]["tags"]) == KIND


def test_metrics_score_each_tag_and_the_present_set():
    labels = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [np.nan] * 3, [0, 1, 1]], "float64")
    logits = np.array([[3, -2, 1], [-1, -3, 2], [2, 1, -1], [0, 0, 0], [-2, 2, -0.5]])
    report = multilabel.report(labels, logits, KIND)
    # Every tag's positives rank above its negatives.
    assert report["num_images"] == 4 and report["ap"] == {
        "waterside": 1.0, "wooded": 1.0, "built_up": 1.0}
    assert report["mean_ap"] == 1.0
    # Present: p >= 0.5, i.e. logit >= 0: 7 true, 6 predicted, 6 of them right.
    assert report["micro_f1"] == pytest.approx(2 * 6 / (7 + 6))
    assert report["positives"] == {"waterside": 2, "wooded": 2, "built_up": 3}
    learned = np.random.default_rng(0).normal(size=(4, 5, 3))
    truth = multilabel.ground_truth(learned, 2 * learned + 1, list("abcde"), KIND)
    assert truth["contribution_r"] == pytest.approx(1.0)


@pytest.mark.parametrize("label, readable", [
    (np.array([1.0, 0.0, 1.0]), "waterside;built_up"), (np.zeros(3), ";"),
    ("built_up; waterside", "waterside;built_up"), (["wooded"], "wooded"), (";", ";"),
    (np.array([np.nan] * 3), None), (None, None), (["harbour"], None)])
def test_a_tags_label_reads_back_from_what_it_writes(label, readable):
    """Every form a tags label takes (training's 0/1 row, a manifest cell, the JSON's
    list) reads as one cell, `;` alone for none: evaluate's figures passed one form to a
    reader of another and crashed."""
    assert KIND.readable_label(label) == readable
    if readable is not None:
        assert KIND.readable_label(readable) == readable


def test_a_classification_label_may_be_missing():
    from siam_keras.runtime.output_kinds import Classification

    kind = Classification(["a", "b"])
    assert [kind.readable_label(v) for v in (1, np.int32(0), "b", np.nan, -1, None, "z")] == [
        "b", "a", "b", None, None, None, None]


@pytest.mark.parametrize("broken", [{"kind": "multilabel", "bias": 0.5},
                                    {"classes": ["a", "b"], "tags": ["a", "b"]}])
def test_the_schema_refuses_a_multilabel_head_without_tags_or_with_classes(rng, broken):
    from siam_keras.runtime.json_schema import SchemaError

    weights, _ = _explanation(rng)
    entry = {**json.loads(json.dumps(weights.outputs["tags"].to_json())), **broken}
    if "tags" not in broken and "classes" not in broken:
        del entry["tags"]
    schema = load_schema("siam_model")
    with pytest.raises(SchemaError):
        validate(entry, {**schema["$defs"]["head"], "$defs": schema["$defs"]})
