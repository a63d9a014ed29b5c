"""Datasets. Importing this package does not import TensorFlow.

The TFDS builders `synthetic_scenes`, `sun_attributes` and `scenic_or_not` are
registered by `register_tfds_builders()` (an explicit call: it imports TFDS).
"""

from siam_keras.data.registration import register_tfds_builders
from siam_keras.data.synthetic_scenes import SyntheticScenes

__all__ = ["SyntheticScenes", "register_tfds_builders"]
