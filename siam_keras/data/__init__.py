"""Datasets. Importing this package does not import TensorFlow.

The TFDS builders `synthetic_scenes`, `sun_attributes` and `scenic_or_not` are
registered by `register_tfds_builders()` (an explicit call: it imports TFDS).
The `manifest` source's names (`read_manifests`, `load_images`, ...) are imported
on first use, so that importing this package stays as light as it was.
"""

import importlib

from siam_keras.data.registration import register_tfds_builders
from siam_keras.data.synthetic_scenes import SyntheticScenes

#: Names imported on first use: {name: module}.
_LAZY = {
    "ManifestError": "siam_keras.data.manifest",
    "ManifestRow": "siam_keras.data.manifest",
    "RowProblem": "siam_keras.data.manifest",
    "class_names": "siam_keras.data.manifest",
    "fix_classes": "siam_keras.data.manifest",
    "read_manifests": "siam_keras.data.manifest",
    "load_images": "siam_keras.data.manifest_images",
}

__all__ = ["ManifestError", "ManifestRow", "RowProblem", "SyntheticScenes", "class_names",
           "fix_classes", "load_images", "read_manifests", "register_tfds_builders"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
