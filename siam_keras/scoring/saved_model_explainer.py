"""`SavedModelExplainer`: an exported SIAM SavedModel run in-process by TensorFlow."""

import os

import numpy as np

from siam_keras.runtime.images import pixel_batch
from siam_keras.runtime.prediction_explainer import PredictionExplainer
from siam_keras.runtime.sidecar import SIDECAR_NAME, ModelSidecar
from siam_keras.vocabulary import (
    PIXELS_INPUT,
    PIXELS_SIGNATURE,
)

#: Where `siam-export` puts the sidecar inside a SavedModel version folder: a file beside
#: the graph's assets (ExportArchive has no public way to register an asset; TF Serving
#: and clients read the file).
SIDECAR_ASSET = os.path.join("assets", SIDECAR_NAME)


class SavedModelExplainer(PredictionExplainer):
    """Explains a SIAM SavedModel's predictions, with the interface of `SIAMExplainer`.

    The model is a version folder written by `siam-export`
    (`EXPORT_DIR/saved_model/<N>/`, TF Serving's layout), loaded with
    `tf.saved_model.load` (not Keras: a Keras 3 export is no Keras model to
    `tf.keras.models.load_model`) and called through its `serving_default`
    signature, which takes float32 pixels as `image`. Its `assets/siam_model.json`
    gives the names, the input size and the head's weights; the explanation is then
    assembled and checked as every runtime's (`PredictionExplainer`).

    Args:
        path: the SavedModel version folder (local, or a URI TensorFlow reads:
            gs://, ...).
        sidecar: a `ModelSidecar` or its path (default: the folder's own asset).

    Call arguments:
        images: (B, H, W, 3) raw RGB pixels at the model's input size, or one image.
        top_k: attributes ranked per output.

    Returns:
        A `SIAMExplanation`.
    """

    def __init__(self, path, sidecar=None):
        import tensorflow as tf

        self.path = os.fspath(path)
        if not tf.io.gfile.exists(os.path.join(self.path, "saved_model.pb")):
            raise FileNotFoundError(f"{self.path} is not a SavedModel folder (no saved_model.pb); "
                                    "expected EXPORT_DIR/saved_model/<N> written by siam-export")
        if not isinstance(sidecar, ModelSidecar):
            sidecar = (ModelSidecar.load(sidecar) if sidecar is not None
                       else read_sidecar(os.path.join(self.path, SIDECAR_ASSET)))
        self.sidecar = sidecar
        self.attribute_names = sidecar.attribute_names
        self.output_names = sidecar.output_names
        self.image_size = tuple(sidecar.image_size)
        self.head = sidecar.head
        self._tf = tf
        loaded = tf.saved_model.load(self.path)
        if PIXELS_SIGNATURE not in loaded.signatures:
            raise ValueError(f"{self.path} has no {PIXELS_SIGNATURE!r} signature. Its "
                             f"signatures: {sorted(loaded.signatures)}")
        self._loaded = loaded  # the signature's variables live as long as it does
        self._signature = loaded.signatures[PIXELS_SIGNATURE]
        self._check_signature()

    def _check_signature(self):
        """Refuses a model whose input or outputs are not those the sidecar describes."""
        _, inputs = self._signature.structured_input_signature
        shapes = {name: tuple(spec.shape.as_list()) for name, spec in inputs.items()}
        self.check_signature(self.path, shapes, self._signature.structured_outputs,
                             (None, *self.image_size, 3))

    def predict(self, images):
        """The signature's outputs on (B, H, W, 3) pixels: a dict of NumPy arrays."""
        pixels = pixel_batch(images, self.image_size)
        try:
            outputs = self._signature(**{PIXELS_INPUT: self._tf.constant(pixels)})
        except self._tf.errors.OpError as error:
            raise RuntimeError(f"{self.path}: {' '.join(error.message.split())}") from None
        return {name: np.asarray(value) for name, value in outputs.items()}


def read_sidecar(path):
    """A `ModelSidecar` from a local path or a URI (gs://, ...) TensorFlow reads."""
    from siam_keras.runtime.uris import is_uri

    if not is_uri(os.fspath(path)):
        return ModelSidecar.load(path)
    import tensorflow as tf

    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"Model sidecar not found: {path} (written by siam-export as "
                                f"{SIDECAR_NAME} beside the model)")
    with tf.io.gfile.GFile(path, "rb") as file:
        return ModelSidecar.parse(file.read(), source=path)
