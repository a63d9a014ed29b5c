"""Datasets. Importing this package does not import TensorFlow."""

from siam_keras.data.synthetic_scenes import SyntheticScenes

__all__ = ["SyntheticScenes"]
