import numpy as np
import pytest

from siam_keras.runtime.adaptive_pooling import adaptive_average_pool, adaptive_pooling_matrix


def test_divisible_sizes_are_block_means(rng):
    maps = rng.random((2, 8, 8, 3))
    expected = maps.reshape(2, 4, 2, 4, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(adaptive_average_pool(maps, 4), expected, atol=1e-6)


@pytest.mark.parametrize("in_size, out_size", [(7, 3), (5, 8), (15, 15), (15, 4)])
def test_rows_average_and_cover_the_input(in_size, out_size):
    matrix = adaptive_pooling_matrix(in_size, out_size)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-6)
    assert (matrix.sum(axis=0) > 0).all()
