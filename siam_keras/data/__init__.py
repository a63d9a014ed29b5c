"""Datasets. Importing this package does not import TensorFlow.

Three sub-packages, one concept each: `manifest` (the user's own photos listed in
manifest files), `tfds` (the TensorFlow Datasets builders `synthetic_scenes`,
`sun_attributes` and `scenic_or_not`, and the readers of the manually downloaded
datasets they build) and `download` (guarded HTTP, the Geograph photo downloader).
Beside them: the `synthetic_scenes` generator (`scene_rendering` draws its scenes),
`example_photos` (a manifest of synthetic photos to try) and `run_config` (the `[data]`
table of a training run's config.toml).

The TFDS builders are registered by `register_tfds_builders()` (an explicit call: it
imports TFDS). The `manifest` names (`read_manifests`, `load_images`, ...) are imported
on first use, so that importing this package stays as light as it was.
"""

import importlib

from siam_keras.data.synthetic_scenes import SyntheticScenes
from siam_keras.data.tfds.registration import register_tfds_builders

#: Names imported on first use: {name: module}.
_LAZY = {
    "ManifestError": "siam_keras.data.manifest.reading",
    "ManifestRow": "siam_keras.data.manifest.reading",
    "RowProblem": "siam_keras.data.manifest.reading",
    "class_names": "siam_keras.data.manifest.reading",
    "fix_classes": "siam_keras.data.manifest.reading",
    "read_manifests": "siam_keras.data.manifest.reading",
    "load_images": "siam_keras.data.manifest.images",
}

__all__ = ["ManifestError", "ManifestRow", "RowProblem", "SyntheticScenes", "class_names",
           "fix_classes", "load_images", "read_manifests", "register_tfds_builders"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
