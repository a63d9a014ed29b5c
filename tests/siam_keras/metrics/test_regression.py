import itertools

import numpy as np
import pytest

from siam_keras.metrics import kendall_tau, r2, regression_report, rmse, spearman


def brute_force_tau_b(x, y):
    concordant = discordant = ties_x = ties_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif dx == dy:
            concordant += 1
        else:
            discordant += 1
    return (concordant - discordant) / np.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))


def test_kendall_tau_matches_brute_force_with_ties(rng):
    x = rng.integers(0, 5, 40).astype(float)
    y = x + rng.integers(-2, 3, 40)
    assert kendall_tau(x, y) == pytest.approx(brute_force_tau_b(x, y), abs=1e-12)


def test_spearman_is_pearson_of_ranks(rng):
    x, y = rng.normal(size=50), rng.normal(size=50)
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    assert spearman(x, y) == pytest.approx(np.corrcoef(rx, ry)[0, 1])


def test_rmse_and_r2(rng):
    y = rng.normal(size=100)
    pred = y + 0.1
    assert rmse(y, pred) == pytest.approx(0.1)
    assert r2(y, pred) == pytest.approx(1 - 0.01 / y.var())
    assert r2(y, np.full_like(y, y.mean())) == pytest.approx(0.0)


def test_report_keys(rng):
    y = rng.normal(size=10)
    assert set(regression_report(y, y)) == {"kendall_tau", "spearman", "rmse", "r2"}
    assert regression_report(y, y)["kendall_tau"] == pytest.approx(1.0)


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="same number of values. Received: 3 and 2"):
        rmse([1, 2, 3], [1, 2])
