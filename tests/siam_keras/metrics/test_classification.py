import numpy as np
import pytest

from siam_keras.metrics import classification_report
from siam_keras.metrics.contributions import class_contribution_r

CLASSES = ["a", "b", "c", "d", "e"]


def test_report_matches_a_hand_count():
    labels = np.array([0, 1, 2, 2, 4, -1])
    logits = np.full((6, 5), -1.0)
    for i, c in enumerate([0, 2, 2, 1, 4, 3]):  # predicted classes; the last row is unlabelled
        logits[i, c] = 1.0
    logits[1, 1] = 0.5  # b is image 1's runner-up: in its top 5 anyway
    report = classification_report(labels, logits, CLASSES)
    assert report["num_images"] == 5
    assert report["accuracy"] == pytest.approx(3 / 5)
    assert report["top5_accuracy"] == 1.0
    assert report["recall"] == {"a": 1.0, "b": 0.0, "c": 0.5, "d": pytest.approx(float("nan"),
                                                                            nan_ok=True), "e": 1.0}
    # F1 per class present in labels or predictions: a 1, b 0, c 2*1/(2+2)=0.5, e 1
    assert report["macro_f1"] == pytest.approx((1 + 0 + 0.5 + 1) / 4)


def test_top5_is_left_out_below_five_classes_and_bad_shapes_are_named():
    report = classification_report(np.array([0, 1]), np.eye(2), ["x", "y"])
    assert "top5_accuracy" not in report and report["accuracy"] == 1.0
    with pytest.raises(ValueError, match=r"Expected \(2, 3\) logits"):
        classification_report(np.array([0, 1]), np.eye(2), ["x", "y", "z"])
    with pytest.raises(TypeError, match="integer class indices"):
        classification_report(np.array([0.0, 1.0]), np.eye(2), ["x", "y"])


def test_class_contribution_r_ignores_what_every_class_shares(rng):
    true = rng.normal(size=(20, 4, 3))
    shifted = 2.0 * true + rng.normal(size=(20, 4, 1)) * 5  # scaled, plus a per-class-shared part
    assert class_contribution_r(shifted, true, list("abcd"))["mean"] == pytest.approx(1.0)
    assert class_contribution_r(rng.normal(size=(20, 4, 3)), true, list("abcd"))["mean"] < 0.5
