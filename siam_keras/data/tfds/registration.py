"""Registering siam-keras' TFDS builders: an explicit call.

TFDS registers a builder when its class is defined, so registering is importing the
builder modules (which imports TFDS, about 4 s): `register_tfds_builders()` does it,
once, for whoever needs `tfds.builder("sun_attributes/...")` by name. Importing
`siam_keras.data` does not (nor does it import TFDS or TensorFlow).
"""

import importlib

BUILDER_MODULES = (
    "siam_keras.data.tfds.synthetic_scenes_builder",
    "siam_keras.data.tfds.sun_attributes_builder",
    "siam_keras.data.tfds.scenic_or_not_builder",
)


def register_tfds_builders():
    """Defines (so registers with TFDS) `synthetic_scenes`, `sun_attributes` and
    `scenic_or_not`; idempotent."""
    for name in BUILDER_MODULES:
        importlib.import_module(name)
