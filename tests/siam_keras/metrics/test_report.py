import numpy as np
import pytest

from siam_keras.metrics import effect_rank_tau, metrics_report
from siam_keras.metrics.report import format_report


def test_effect_rank_tau_ranks_mean_contributions(rng):
    true = rng.normal(size=(50, 4)) + np.array([3.0, -1.0, 0.0, 1.0])
    learned = true * 2 + 0.5  # monotone transform of each mean
    result = effect_rank_tau(learned, true, ["a", "b", "c", "d"])
    assert result["effect_rank_tau"] == pytest.approx(1.0)
    reversed_result = effect_rank_tau(-learned, true, ["a", "b", "c", "d"])
    assert reversed_result["effect_rank_tau"] == pytest.approx(-1.0)


def test_metrics_report_layout_and_missing_labels(rng):
    n = 30
    targets = {"scenicness": rng.normal(size=n), "attributes": (rng.random((n, 2)) > 0.5).astype(float)}
    targets["scenicness"][0] = np.nan
    predictions = {
        "scenicness": targets["scenicness"] + 0.01, "attribute_scores": targets["attributes"] + 0.1,
        "scenicness_contributions": rng.normal(size=(n, 2)),
    }
    truth = {"scenicness": predictions["scenicness_contributions"] * 3}
    report = metrics_report(predictions, targets, ["scenicness"], ["a", "b"], truth)
    assert report["outputs"]["scenicness"]["num_images"] == n - 1
    assert report["outputs"]["scenicness"]["kendall_tau"] == pytest.approx(1.0)
    assert report["attributes"]["mean_ap"] == 1.0
    assert report["ground_truth"]["effect_rank_tau"] == pytest.approx(1.0)
    table = format_report(report)
    assert "kendall_tau" in table and "effect_rank_tau" in table


def test_missing_output_is_named():
    with pytest.raises(ValueError, match="Output 'scenicness' is missing"):
        metrics_report({}, {"scenicness": [1, 2]}, ["scenicness"])


def test_effect_rank_tau_shape_mismatch():
    with pytest.raises(ValueError, match=r"Contributions must both be \(N, 2\). Received: \(3, 2\) and \(3, 3\)"):
        effect_rank_tau(np.zeros((3, 2)), np.zeros((3, 3)), ["a", "b"])
