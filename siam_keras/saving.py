"""Loading `.keras` files of SIAM and baseline models."""

import os


def load_model(path, compile=False, safe_mode=True):
    """Loads a `.keras` model saved by siam-keras (or any Keras model).

    Imports siam-keras' layers first, so that their registered classes resolve
    without `custom_objects`, also with `safe_mode=True`.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if `path` is not a readable `.keras` file.
    """
    import keras

    import siam_keras.layers  # noqa: F401  (registers SIAMLayer, AlternatingSigns)
    import siam_keras.models  # noqa: F401  (registers ImagePreprocessing)

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file not found: {path!r}")
    if _uses_keras_hub(path):  # a "hub:" backbone: its classes register on import
        from siam_keras.models.hub_backbones import import_keras_hub

        import_keras_hub()
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=safe_mode)
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(f"Could not load {path!r} as a Keras model: {error}") from error


def _uses_keras_hub(path):
    """Whether the `.keras` archive at `path` holds keras-hub layers (by its config)."""
    import zipfile

    from siam_keras.runtime.hub_presets import mentions_keras_hub

    try:
        with zipfile.ZipFile(path) as archive:
            return mentions_keras_hub(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError):
        return False  # not a .keras archive: Keras says so, below
