import numpy as np
import pytest

from siam_keras.runtime.upsampling import bilinear_matrix, upsample


@pytest.mark.parametrize("in_size, out_size", [(8, 64), (15, 450), (5, 7), (4, 4), (3, 32)])
def test_matches_tensorflow_bilinear_resize(in_size, out_size, rng):
    import tensorflow as tf

    maps = rng.random((2, in_size, in_size + 1, 3)).astype("float32")
    expected = tf.image.resize(maps, (out_size, out_size + 2), method="bilinear").numpy()
    np.testing.assert_allclose(upsample(maps, out_size, out_size + 2), expected, atol=1e-5)


def test_rows_sum_to_one_and_matrix_is_read_only():
    matrix = bilinear_matrix(8, 61)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError):
        matrix[0, 0] = 2.0


def test_single_maps_keep_their_rank(rng):
    maps = rng.random((4, 4, 3)).astype("float32")
    assert upsample(maps, 8).shape == (8, 8, 3)
    assert upsample(maps[..., 0], 8, 6).shape == (8, 6)
    np.testing.assert_allclose(upsample(maps[..., 0], 8), upsample(maps, 8)[..., 0])


def test_constant_map_stays_constant_and_bad_rank_is_refused():
    np.testing.assert_allclose(upsample(np.full((1, 3, 3, 1), 2.5), 10), 2.5, rtol=1e-6)
    with pytest.raises(ValueError, match=r"\(N, h, w, K\)"):
        upsample(np.zeros((1, 1, 2, 2, 2)), 4)
