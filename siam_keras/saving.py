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
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=safe_mode)
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(f"Could not load {path!r} as a Keras model: {error}") from error
