import keras
import numpy as np
import pytest

from siam_keras.models import build_siam_model, get_siam_layer
from siam_keras.runtime.output_kinds import Classification, Regression
from training.batch_norm import recompute_batch_norm_statistics
from training.health import (
    MODE_GAP,
    HealthReport,
    UnhealthyModel,
    check_health,
    check_predictions,
    mode_gap,
)

ATTRIBUTES = ["water", "trees", "road"]
CLASSES = {"kind": ["coast", "forest", "town"]}
KINDS = {"score": Regression(), "kind": Classification(CLASSES["kind"])}


def _model():
    return build_siam_model(ATTRIBUTES, ["score", "kind"], output_classes=CLASSES, image_size=32,
                            template_size=4, border_size=0)


def _labels(rng, n=40):
    return {"score": rng.normal(5, 1, n), "kind": rng.integers(0, 3, n),
            "attribute_scores": rng.choice([0, 1 / 3, 2 / 3, 1], (n, 3))}


def _healthy(rng, labels):
    n = len(labels["score"])
    logits = np.eye(3)[labels["kind"]] * 2 + rng.normal(0, 0.5, (n, 3))
    return {"score": labels["score"] + rng.normal(0, 0.3, n), "kind": logits,
            "attribute_scores": labels["attribute_scores"] + rng.uniform(0, 0.2, (n, 3))}


def test_healthy_predictions_pass(rng):
    labels = _labels(rng)
    report = check_predictions(_healthy(rng, labels), labels, KINDS, ATTRIBUTES)
    assert not report.failed and report.problems() == []


def test_a_constant_output_is_named_with_what_to_change(rng):
    labels = _labels(rng)
    predictions = _healthy(rng, labels)
    predictions["score"] = np.full(40, 5.02) + rng.normal(0, 1e-3, 40)  # the mean, barely moving
    predictions["kind"] = np.tile([0.1, 0.5, 0.2], (40, 1))  # the prior, every photo
    report = check_predictions(predictions, labels, KINDS, ATTRIBUTES)
    assert report.constant_outputs == ["score", "kind"] and report.failed
    (problem,) = report.problems()
    assert "score, kind" in problem and "train.epochs" in problem and "min_steps_per_epoch" in problem


def test_one_class_for_every_photo_is_constant_but_one_class_in_the_labels_is_not(rng):
    labels = _labels(rng)
    predictions = _healthy(rng, labels)
    predictions["kind"] = rng.normal(0, 1, (40, 3)) + [0, 10, 0]
    assert check_predictions(predictions, labels, {"kind": KINDS["kind"]}).constant_outputs == ["kind"]
    labels["kind"][:] = 1
    assert check_predictions(predictions, labels, {"kind": KINDS["kind"]}).constant_outputs == []


def test_a_dead_attribute_is_named_but_a_rare_one_is_not(rng):
    labels = _labels(rng)
    predictions = _healthy(rng, labels)
    predictions["attribute_scores"][:, 1] = 0.0  # trees never fires, though labelled
    labels["attribute_scores"][:, 2] = 0.0  # road absent from every photo: silent is right
    predictions["attribute_scores"][:, 2] = 0.0
    report = check_predictions(predictions, labels, ["score"], ATTRIBUTES)
    assert report.dead_attributes == ["trees"] and report.failed
    assert "attribute_epochs" in report.problems()[0]


def test_missing_labels_are_left_out_and_nan_predictions_are_non_finite(rng):
    labels = _labels(rng)
    predictions = _healthy(rng, labels)
    labels["score"][:30] = np.nan  # unlabelled rows predicting anything
    predictions["score"][:30] = 0.0
    assert check_predictions(predictions, labels, ["score"]).constant_outputs == []
    predictions["score"][35] = np.nan
    report = check_predictions(predictions, labels, ["score"])
    assert report.nonfinite == ["score"] and "learning_rate" in report.problems()[0]


def test_a_dead_attribute_in_a_real_head(rng):
    """A SIAM head whose attribute map is pushed below 0 everywhere: ReLU keeps it at 0."""
    model = _model()
    head = get_siam_layer(model)
    bias = keras.ops.convert_to_numpy(head.attribute_bias)
    bias[1] = -1e4
    head.attribute_bias.assign(bias)
    images = rng.uniform(0, 255, (16, 32, 32, 3)).astype("float32")
    predictions = {k: keras.ops.convert_to_numpy(v) for k, v in model(images).items()}
    labels = _labels(rng, 16)
    labels["attribute_scores"][:, 1] = 1.0
    report = check_predictions(predictions, labels, KINDS, ATTRIBUTES)
    assert "trees" in report.dead_attributes


def _fitted_a_little(rng, images):
    """A model trained 3 steps: its batch-norm moving statistics are still about their
    initial mean 0 and variance 1 (momentum 0.99), as after 19 steps on 600 photos."""
    model = _model()
    model.compile(optimizer="adam", loss={"score": "mse"})
    targets = {"score": rng.normal(5, 1, len(images)).astype("float32")}
    model.fit(images, targets, batch_size=16, epochs=1, steps_per_epoch=3, verbose=0)
    return model


def test_batch_norm_left_at_its_initial_statistics_is_a_wide_mode_gap(rng):
    images = rng.uniform(0, 255, (48, 32, 32, 3)).astype("float32")
    model = _fitted_a_little(rng, images)
    gap, output = mode_gap(model, images[:16], ["score", "kind"])
    assert gap > MODE_GAP
    report = HealthReport(mode_gap=gap, mode_gap_output=output)
    assert report.wide_mode_gap and "batch_norm_batches" in report.problems()[0]
    moving = [keras.ops.convert_to_numpy(v).copy() for v in model.non_trainable_weights]
    assert all(np.array_equal(keras.ops.convert_to_numpy(v), m)  # measuring changed nothing
               for v, m in zip(model.non_trainable_weights, moving))
    batches = [(images[i:i + 16],) for i in range(0, 48, 16)]
    assert recompute_batch_norm_statistics(model, batches) == 3
    gap, _ = mode_gap(model, images[:16], ["score", "kind"])
    assert gap < MODE_GAP


def test_check_health_fails_the_run_only_on_siams_problems_unless_kept():
    sick = HealthReport(constant_outputs=["score"]).to_json()
    fine = HealthReport(mode_gap=0.1).to_json()
    lines = []
    check_health({"siam": fine, "baseline": sick}, log=lines.append)
    assert any("baseline" in line and "constant" in line for line in lines)
    with pytest.raises(UnhealthyModel, match="--keep-unhealthy") as error:
        check_health({"siam": sick}, log=lines.append)
    assert "score" in str(error.value) and "metrics.json" in str(error.value)
    check_health({"siam": sick}, keep_unhealthy=True, log=lines.append)
    assert "kept: --keep-unhealthy" in lines[-1]
