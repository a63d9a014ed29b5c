"""Datasets. Importing this package does not import TensorFlow.

It registers the TFDS builders `synthetic_scenes`, `sun_attributes` and
`scenic_or_not`: at once if `tensorflow_datasets` is already imported, otherwise
when it is (`siam_keras.data.registration`).
"""

from siam_keras.data.registration import register_when_tfds_is_imported
from siam_keras.data.synthetic_scenes import SyntheticScenes

register_when_tfds_is_imported()

__all__ = ["SyntheticScenes"]
