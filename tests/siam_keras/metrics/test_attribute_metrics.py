"""Every attribute gets a metric that fits its labels, and the console says what each mean
covers (graded labels printed `attributes mean_ap 1.000` over 2 of 5 attributes)."""

import numpy as np
import pytest

from siam_keras.metrics import attribute_metrics, metrics_report
from siam_keras.metrics.attribute_metrics import label_kind
from siam_keras.metrics.report import format_report

NAMES = ["trees", "water", "sky", "grass", "road"]


def graded_case(seed=0, n=200):
    """2 binary attributes and 3 graded ones (shares of the photo in [0, 1]), with scores
    that follow the labels plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.empty((n, 5))
    labels[:, :2] = rng.integers(0, 2, (n, 2))
    labels[:, 2:] = rng.uniform(0.05, 1.0, (n, 3))
    scores = labels + rng.normal(0, 0.1, labels.shape)
    return labels, scores


def test_graded_attributes_get_a_rank_correlation_and_the_mean_says_what_it_covers():
    labels, scores = graded_case()
    report = attribute_metrics(labels, scores, NAMES)
    assert report["label_kinds"] == {"trees": "binary", "water": "binary", "sky": "graded",
                                     "grass": "graded", "road": "graded"}
    assert report["num_ap"] == 2 and report["num_spearman"] == 5
    assert all(np.isnan(report["ap"][name]) for name in ("sky", "grass", "road"))
    assert all(report["spearman"][name] > 0.8 for name in NAMES)  # binary: ties cap it near 0.87
    assert report["mean_ap"] == pytest.approx(np.mean([report["ap"]["trees"],
                                                      report["ap"]["water"]]))
    printed = format_report(metrics_report(
        {"attribute_scores": scores, "score": scores[:, 0]},
        {"attributes": labels, "score": scores[:, 0] + 1}, ["score"], attribute_names=NAMES))
    assert "mean_spearman" in printed
    assert ("attributes: mean_ap over 2 of 5 (3 have graded labels: Spearman only); "
            "mean_spearman over 5 of 5") in printed


def test_votes_and_missing_labels_are_told_apart():
    assert label_kind([0, 1, 1, np.nan]) == "binary"
    assert label_kind([0, 1 / 3, 2 / 3, 1, np.nan]) == "votes"
    assert label_kind([0, 0.33, 0.67, 1]) == "votes"  # as a CSV rounds them: AP still fits
    assert label_kind([0, 0.25, 1]) == "graded"
    assert label_kind([np.nan, np.nan]) == "missing"
    labels = np.array([[1.0, np.nan], [0.0, np.nan], [1.0, np.nan]])
    report = attribute_metrics(labels, labels, ["a", "b"])
    assert report["num_ap"] == 1 and np.isnan(report["spearman"]["b"])
    assert "over 1 of 2 (1 without both positive and negative labels)" in format_report(
        {"outputs": {}, "attributes": report})
