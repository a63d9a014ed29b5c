"""`TrainingDistribution`: photos unlike the training photos are flagged, in every output."""

import dataclasses
import json

import numpy as np
import pytest

from siam_keras.runtime.training_distribution import TrainingDistribution, map_summary


def maps(rng, n, scale=1.0, grid=4, k=3):
    return np.abs(rng.normal(0, scale, (n, grid, grid, k))).astype("float32")


def test_the_distance_is_mahalanobis_and_the_threshold_holds_the_held_out_quantile():
    rng = np.random.default_rng(0)
    training, held_out = maps(rng, 400), maps(rng, 1000)
    distribution = TrainingDistribution.fit(training, held_out, quantile=0.99)
    features = map_summary(held_out[:5])
    covariance = np.cov(map_summary(training), rowvar=False)
    covariance += 1e-3 * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
    offset = features - map_summary(training).mean(axis=0)
    expected = np.sqrt(np.einsum("bi,ij,bj->b", offset, np.linalg.inv(covariance), offset))
    np.testing.assert_allclose(distribution.distance(held_out[:5]), expected, rtol=1e-9)
    # On photos of the same kind it has not seen, about the quantile's share is beyond it.
    assert np.mean(distribution.out_of_distribution(maps(rng, 4000)).flagged) <= 0.02
    # Photos of another kind (brighter, sparser maps) lie beyond it.
    assert np.mean(distribution.distance(maps(rng, 100, scale=3.0)) > distribution.threshold) > 0.9


def test_it_round_trips_through_json_and_refuses_what_is_not_one():
    rng = np.random.default_rng(1)
    distribution = TrainingDistribution.fit(maps(rng, 50), maps(rng, 50))
    again = TrainingDistribution.from_json(json.loads(json.dumps(distribution.to_json())))
    np.testing.assert_array_equal(again.precision, distribution.precision)
    assert again.threshold == distribution.threshold and again.num_photos == 50
    for broken in ({}, {**distribution.to_json(), "threshold": float("nan")},
                   {**distribution.to_json(), "precision": [[1.0]]},
                   {**distribution.to_json(), "statistics": ["mean"]}):
        with pytest.raises(ValueError, match="Not a training distribution"):
            TrainingDistribution.from_json(broken)
    with pytest.raises(ValueError, match="at least 2 training and 2 held-out"):
        TrainingDistribution.fit(maps(rng, 1), maps(rng, 5))
    with pytest.raises(ValueError, match="Expected maps of the 3 attributes"):
        distribution.distance(maps(rng, 2, k=4))


def test_the_model_keeps_it_and_every_output_says_it(tiny_models):
    from siam_keras.data import SyntheticScenes
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.plotting.explanation_figure import draw_explanation
    from siam_keras.runtime import colours
    from siam_keras.runtime.explanation_table import explanation_row, table_columns
    from siam_keras.runtime.sidecar import ModelSidecar
    from siam_keras.saving import load_model

    model = load_model(tiny_models[0])  # saved with one: the layer's config keeps it
    kept = model.siam_head.training_distribution
    assert isinstance(kept, TrainingDistribution) and kept.num_photos == 300
    explainer = SIAMExplainer(model)
    scenes = SyntheticScenes(image_size=32, template_size=4).generate("test", 200)["image"]
    explanation = explainer(scenes.astype("float32"))
    flagged = explanation.out_of_distribution
    np.testing.assert_allclose(flagged.distance, kept.distance(explanation.attribute_maps))
    assert flagged.flagged.mean() <= 0.02  # held-out scenes: within, as the quantile says
    # A threshold half the scenes exceed: what each output shows, either way.
    strict = dataclasses.replace(kept, threshold=float(np.median(flagged.distance)))
    model.siam_head.training_distribution = strict  # the explainer built before sees it
    explanation = explainer.explain_predictions(explainer.predict(scenes[:8]))
    assert explanation.out_of_distribution.threshold == strict.threshold
    far, near = (int(np.argmax(explanation.out_of_distribution.flagged == v)) for v in (1, 0))
    record = explanation.to_json(far)
    assert record["out_of_distribution"] == {
        "flagged": True, "distance": round(float(explanation.out_of_distribution.distance[far]), 4),
        "threshold": round(strict.threshold, 4)}
    assert explanation.to_json(near)["out_of_distribution"]["flagged"] is False
    columns = table_columns(explainer.attribute_names, explainer.head)
    assert columns["out_of_distribution.flagged"] == "string"
    assert explanation_row(explanation, far, "a.jpg")["out_of_distribution.flagged"] == "yes"
    assert explanation_row(explanation, near, "b.jpg")["out_of_distribution.flagged"] == "no"
    assert explanation_row(explanation, far, "a.jpg")["out_of_distribution.distance"] == \
        pytest.approx(explanation.out_of_distribution.distance[far])
    titles = [t for t in draw_explanation(scenes[far], explanation, far).texts
              if t.role == "title"]
    assert [t.colour for t in titles if t.text.startswith(
        "Out of distribution: unlike the training photos")] == [colours.POSITIVE]  # in red
    assert not any("Out of distribution" in t.text for t in draw_explanation(
        scenes[near], explanation, near).texts)
    sidecar = ModelSidecar.from_json(json.loads(json.dumps(ModelSidecar(
        "tiny", explainer.attribute_names, explainer.output_names, (32, 32),
        explainer.head).to_json())))
    assert sidecar.head.distribution.threshold == strict.threshold


def test_a_model_without_one_says_nothing_and_a_broken_distance_is_flagged(tiny_models,
                                                                          tiny_scenes):
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.plotting.explanation_figure import draw_explanation
    from siam_keras.runtime.explanation_table import explanation_row, table_columns
    from siam_keras.runtime.out_of_distribution import OutOfDistribution
    from siam_keras.saving import load_model

    model = load_model(tiny_models[0])
    model.siam_head.training_distribution = None  # as trained before siam-keras kept one
    explainer = SIAMExplainer(model)
    explanation = explainer.explain_predictions(explainer.predict(tiny_scenes["image"][:2]))
    assert explanation.out_of_distribution is None
    assert "out_of_distribution" not in explanation.to_json(0)
    columns = table_columns(explainer.attribute_names, explainer.head)
    row = explanation_row(explanation, 0, "a.jpg")
    assert not [name for name in [*columns, *row] if name.startswith("out_of_distribution")]
    assert not any("Out of distribution" in t.text
                   for t in draw_explanation(tiny_scenes["image"][0], explanation, 0).texts)
    found = OutOfDistribution(np.array([1.0, np.nan, 9.0]), 5.0)
    assert found.flagged.tolist() == [False, True, True]
