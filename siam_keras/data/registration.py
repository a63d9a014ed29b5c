"""Registering siam-keras' TFDS builders when `siam_keras.data` is imported, lazily.

TFDS finds builders by name only once their classes are defined, but importing
TFDS costs about 4 s, which `import siam_keras.data` should not. So the builders
are registered at once if TFDS is already imported, and otherwise right after it
is: a one-shot finder wraps the loading of `tensorflow_datasets` and imports the
builder modules when it has finished. Nothing else is imported or changed.
"""

import importlib
import importlib.abc
import importlib.util
import sys

BUILDER_MODULES = (
    "siam_keras.data.synthetic_scenes_tfds",
    "siam_keras.data.sun_attributes_tfds",
    "siam_keras.data.scenic_or_not_tfds",
)
_TFDS = "tensorflow_datasets"


def register_builders():
    """Defines (so registers) the builders `synthetic_scenes`, `sun_attributes`, `scenic_or_not`."""
    for name in BUILDER_MODULES:
        importlib.import_module(name)


class _RegisterAfterTFDS(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != _TFDS:
            return None
        sys.meta_path.remove(self)  # one shot, and no recursion in find_spec below
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            register_builders()

        spec.loader.exec_module = exec_module  # this spec's own loader instance
        return spec


def register_when_tfds_is_imported():
    """Registers now if TFDS is loaded, else as soon as it is; idempotent."""
    if _TFDS in sys.modules:
        register_builders()
    elif not any(isinstance(finder, _RegisterAfterTFDS) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterTFDS())
