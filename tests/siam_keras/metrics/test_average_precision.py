import numpy as np
import pytest

from siam_keras.metrics import attribute_average_precision, average_precision


def brute_force_ap(labels, scores):
    """Mean over positives of precision at that positive's score threshold."""
    labels, scores = np.asarray(labels, bool), np.asarray(scores, float)
    precisions = []
    for s in scores[labels]:
        selected = scores >= s
        precisions.append(labels[selected].mean())
    return float(np.mean(precisions))


def test_matches_brute_force_without_ties(rng):
    labels = rng.random(60) < 0.3
    scores = rng.random(60) + labels * 0.3
    assert average_precision(labels, scores) == pytest.approx(brute_force_ap(labels, scores))


def test_matches_brute_force_with_ties(rng):
    labels = rng.random(80) < 0.4
    scores = np.round(rng.random(80) + labels * 0.2, 1)
    assert average_precision(labels, scores) == pytest.approx(brute_force_ap(labels, scores))


def test_perfect_and_worst_rankings():
    assert average_precision([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert average_precision([0, 0, 1], [0.9, 0.8, 0.1]) == pytest.approx(1 / 3)
    assert np.isnan(average_precision([0, 0], [0.1, 0.2]))


def test_sun_protocol_leaves_out_one_third():
    labels = np.array([[1.0], [2 / 3], [1 / 3], [0.0], [0.0]])
    # The 1/3 sample scores highest: counted as a negative it would lower AP.
    scores = np.array([[0.8], [0.7], [0.99], [0.1], [0.2]])
    report = attribute_average_precision(labels, scores, ["trees"])
    assert report["ap"]["trees"] == 1.0 and report["mean_ap"] == 1.0


def test_nan_labels_are_left_out_and_mean_skips_undefined():
    labels = np.array([[1.0, 0.0], [np.nan, 0.0], [0.0, 0.0]])
    scores = np.array([[0.9, 0.5], [0.95, 0.4], [0.1, 0.3]])
    report = attribute_average_precision(labels, scores, ["a", "b"])
    assert report["ap"]["a"] == 1.0 and np.isnan(report["ap"]["b"]) and report["mean_ap"] == 1.0


def test_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        attribute_average_precision(np.zeros((3, 2)), np.zeros((3, 3)), ["a", "b"])
