import numpy as np
import pytest
from scipy import stats

from siam_keras.metrics.contributions import contribution_r, zero_weight_share

NAMES = ["a", "b", "c", "d"]


def test_contribution_r_is_the_mean_per_image_pearson(rng):
    learned, true = rng.normal(size=(20, 4)), rng.normal(size=(20, 4))
    true[3] = 1.0  # constant: r undefined, left out
    expected = np.mean([stats.pearsonr(learned[i], true[i]).statistic for i in range(20) if i != 3])
    result = contribution_r(learned, true, NAMES)
    assert result["mean"] == pytest.approx(expected) and result["num_images"] == 19


def test_zero_weight_share():
    learned = np.array([[1.0, -1.0, 2.0, 0.0], [0.0, 3.0, -1.0, 1.0]])
    assert zero_weight_share(learned, [0.0, 2.0, 0.0, 1.0], NAMES) == pytest.approx(4 / 9)
    assert np.isnan(zero_weight_share(np.zeros((2, 4)), [0, 1, 1, 1], NAMES))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        zero_weight_share(learned, [0.0, 1.0], NAMES)
