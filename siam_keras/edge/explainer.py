"""`EdgeExplainer`: a `.tflite` SIAM model run by LiteRT, explained in NumPy."""

import os
from pathlib import Path

import numpy as np

from siam_keras.runtime.explanation import RESIDUAL_TOLERANCE
from siam_keras.runtime.images import pixel_batch
from siam_keras.runtime.native_logs import filtered_stderr
from siam_keras.runtime.prediction_explainer import PredictionExplainer
from siam_keras.runtime.sidecar import SIDECAR_NAME, ModelSidecar
from siam_keras.vocabulary import (
    PIXELS_INPUT,
    PIXELS_SIGNATURE,
)

SIGNATURE = PIXELS_SIGNATURE
DEFAULT_THREADS = 2


class EdgeExplainer(PredictionExplainer):
    """Explains a `.tflite` SIAM model's predictions, with the interface of `SIAMExplainer`.

    The model file is one written by `siam-export` (`tflite/model_<variant>.tflite`);
    its sidecar (`siam_model.json`, beside it by default) gives the names, the input
    size and the head's weights. The variant is identified by the file's SHA-256 (a
    renamed file is still known; a file from another export is refused, as is one
    whose input or outputs differ from the sidecar's). Each image is one LiteRT call
    (the models take batch 1); the explanation is assembled and checked by
    `SIAMExplanation.from_predictions` with the variant's tolerance from the sidecar
    (1e-4 relative: every variant's head computes in float32).

    Args:
        model_path: a `.tflite` file.
        sidecar: a `ModelSidecar` or its path (default: `siam_model.json` beside
            the model).
        num_threads: LiteRT's CPU threads.

    Call arguments:
        images: (B, H, W, 3) raw RGB pixels at the model's input size, or one image.
        top_k: attributes ranked per output.

    Returns:
        A `SIAMExplanation`.
    """

    def __init__(self, model_path, sidecar=None, num_threads=DEFAULT_THREADS):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as error:
            raise ImportError(
                "The edge runtime needs ai-edge-litert: pip install ai-edge-litert"
            ) from error
        model_path = os.fspath(model_path)
        if not os.path.isfile(model_path):
            raise FileNotFoundError(f"Model file not found: {model_path}")
        if not isinstance(sidecar, ModelSidecar):
            sidecar = ModelSidecar.load(sidecar or Path(model_path).with_name(SIDECAR_NAME))
        self.sidecar = sidecar
        self.model_path = model_path
        self.variant = sidecar.variant_of(model_path)
        self.tolerance = float(sidecar.variants[self.variant].get("tolerance", RESIDUAL_TOLERANCE))
        try:
            interpreter = Interpreter(model_path=model_path, num_threads=num_threads)
            self._runner = interpreter.get_signature_runner(SIGNATURE)
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"{model_path} cannot be run by LiteRT: {error}") from None
        self.attribute_names = sidecar.attribute_names
        self.output_names = sidecar.output_names
        self.image_size = tuple(sidecar.image_size)
        self.head = sidecar.head
        self._check_signature(interpreter)
        with filtered_stderr():  # LiteRT says "INFO: Created ... XNNPACK delegate" on the
            self.predict(np.zeros((1, *self.image_size, 3), "float32"))  # first call

    def _check_signature(self, interpreter):
        """Refuses a model whose input or outputs are not those the sidecar describes."""
        expected_input = (1, *self.image_size, 3)
        details = interpreter.get_signature_runner(SIGNATURE).get_input_details()
        shapes = {name: tuple(int(d) for d in entry["shape"]) for name, entry in details.items()}
        self.check_signature(self.model_path, shapes,
                             interpreter.get_signature_list()[SIGNATURE]["outputs"], expected_input)

    def predict(self, images):
        """LiteRT's outputs for each image, joined into a dict of (B, ...) arrays."""
        images = pixel_batch(images, self.image_size)
        if len(images) == 0:  # the model takes one image: run one, keep none of it
            one = self._runner(**{PIXELS_INPUT: np.zeros((1, *images.shape[1:]), "float32")})
            return {key: value[:0] for key, value in one.items()}
        results = [self._runner(**{PIXELS_INPUT: images[i : i + 1]}) for i in range(len(images))]
        return {key: np.concatenate([r[key] for r in results]) for key in results[0]}
