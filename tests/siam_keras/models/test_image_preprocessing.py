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
    with pytest.raises(ValueError, match=r"one of \['unit', 'caffe', 'none', 'affine'\]"):
        ImagePreprocessing("torch")


def test_affine_is_a_converters_scale_and_offset_per_channel(rng):
    pixels = (rng.random((2, 3, 3, 3)) * 255).astype("float32")
    scale, offset = [0.01, 0.02, 0.03], [-1.0, -2.0, -3.0]
    layer = ImagePreprocessing("affine", scale=scale, offset=offset)
    np.testing.assert_allclose(layer(pixels), pixels * np.float32(scale) + np.float32(offset),
                               rtol=1e-6)
    again = ImagePreprocessing.from_config(layer.get_config())
    assert (again.scale, again.offset) == (scale, offset)
    np.testing.assert_allclose(ImagePreprocessing("affine", scale=0.5)(pixels), pixels / 2)
    with pytest.raises(ValueError, match="a number or 3 numbers"):
        ImagePreprocessing("affine", scale=[1.0, 2.0])
    with pytest.raises(ValueError, match="are for mode='affine'"):
        ImagePreprocessing("unit", scale=2.0)
