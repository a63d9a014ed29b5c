import numpy as np
import pytest

from siam_keras.models import ImagePreprocessing


def test_caffe_matches_bgr_mean_subtraction(rng):
    pixels = (rng.random((2, 4, 4, 3)) * 255).astype("float32")
    expected = pixels[..., ::-1] - np.array([103.939, 116.779, 123.68], "float32")
    np.testing.assert_allclose(ImagePreprocessing("caffe")(pixels), expected, atol=1e-4)


def test_unit_and_none(rng):
    pixels = (rng.random((1, 2, 2, 3)) * 255).astype("float32")
    np.testing.assert_allclose(ImagePreprocessing("unit")(pixels), pixels / 255, rtol=1e-6)
    np.testing.assert_allclose(ImagePreprocessing("none")(pixels), pixels)


def test_unknown_mode():
    with pytest.raises(ValueError, match=r"one of \['unit', 'caffe', 'none'\]"):
        ImagePreprocessing("torch")
