import numpy as np
import tensorflow as tf

from training.augmentation import random_affine


def _images(rng):
    return tf.constant(rng.random((4, 16, 16, 3)).astype("float32") * 255)


def test_disabled_augmentation_is_the_identity(rng):
    images = _images(rng)
    out = random_affine(images, tf.constant([1, 2]), flip=False, crop_min_scale=1.0, rotation_degrees=0.0)
    np.testing.assert_allclose(out.numpy(), images.numpy(), atol=1e-3)


def test_flip_only_mirrors_some_images(rng):
    images = _images(rng)
    out = random_affine(images, tf.constant([3, 4]), flip=True, crop_min_scale=1.0, rotation_degrees=0.0).numpy()
    flipped = [np.allclose(o, i[:, ::-1], atol=1e-3) for o, i in zip(out, images.numpy())]
    kept = [np.allclose(o, i, atol=1e-3) for o, i in zip(out, images.numpy())]
    assert all(f or k for f, k in zip(flipped, kept))
    assert any(flipped)


def test_deterministic_by_seed_and_varies_with_it(rng):
    images = _images(rng)
    a = random_affine(images, tf.constant([5, 6])).numpy()
    b = random_affine(images, tf.constant([5, 6])).numpy()
    c = random_affine(images, tf.constant([7, 6])).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.shape == images.shape and np.isfinite(a).all()
