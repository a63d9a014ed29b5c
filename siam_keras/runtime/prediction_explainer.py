"""`PredictionExplainer`: from a SIAM model's outputs to its explanation, for any runtime."""

from siam_keras import vocabulary
from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.explanation import (
    DEFAULT_TOP_K,
    RESIDUAL_TOLERANCE,
    SIAMExplanation,
)
from siam_keras.runtime.file_explanations import DEFAULT_BATCH_SIZE, explain_files
from siam_keras.runtime.images import DEFAULT_MAX_PIXELS
from siam_keras.runtime.intervention import intervention_from_predictions


def checked_top_k(top_k):
    """`top_k` as an int; raises ValueError unless it is a positive integer."""
    return positive_int("top_k", top_k)


class PredictionExplainer:
    """The one path from predictions to a checked `SIAMExplanation`.

    A runtime that produces a SIAM model's outputs (Keras: `SIAMExplainer`; LiteRT:
    `EdgeExplainer`; TF Serving: `ServingClient`) gives `head` (`HeadWeights`),
    `image_size` and `tolerance`, and `predict(images)` if it can be called on images;
    this class turns the outputs into the explanation and checks that they add up.

    Call arguments:
        images: (B, H, W, 3) raw RGB pixels at the model's input size, or one image.
        top_k: attributes ranked per output.

    Returns:
        A `SIAMExplanation`.
    """

    #: The relative residual accepted when the explanation is checked.
    tolerance = RESIDUAL_TOLERANCE

    def predict(self, images):
        """The model's outputs on `images`: a dict of NumPy arrays."""
        raise NotImplementedError

    def check_signature(self, source, shapes, outputs, expected_input):
        """Refuses a model whose inputs ({name: shape}) or output names are not those of
        a SIAM model with `self.head`'s outputs; `source` names it in the message."""
        names = self.head.output_names
        expected_outputs = {*names, vocabulary.ATTRIBUTE_MAPS, vocabulary.ATTRIBUTE_SCORES,
                            *map(vocabulary.contributions_key, names)}
        if shapes != {vocabulary.PIXELS_INPUT: expected_input} or set(outputs) != expected_outputs:
            raise ValueError(
                f"{source} takes {shapes} and returns {sorted(outputs)}; its sidecar describes "
                f"{vocabulary.PIXELS_INPUT} {expected_input} and {sorted(expected_outputs)}")

    def explain_predictions(self, predictions, top_k=DEFAULT_TOP_K):
        """The explanation of a forward pass' outputs (a dict of arrays)."""
        return SIAMExplanation.from_predictions(self.head, predictions, self.image_size,
                                                checked_top_k(top_k), tolerance=self.tolerance)

    def intervene(self, images, factors):
        """What the outputs would be with some attributes' maps scaled or removed: one
        forward pass, then the head's weights on the edited maps
        (`intervention_from_predictions`).

        Args:
            images: as for `__call__`.
            factors: {attribute: factor}; a number >= 0 (0 removes the attribute, 2
                doubles it) or an array broadcastable to the maps' (batch, h, w) grid.

        Returns:
            A `SIAMIntervention`.
        """
        return intervention_from_predictions(self.head, self.predict(images), factors)

    def explain_files(self, paths, top_k=DEFAULT_TOP_K, max_pixels=None,
                      batch_size=DEFAULT_BATCH_SIZE):
        """Explains photo files: read, resized to the model's input and explained in
        batches, each file that cannot be read or explained failing alone.

        Args:
            paths: photo files (JPEG, PNG, WebP, TIFF).
            top_k: attributes ranked per output.
            max_pixels: larger photos are refused unread (default: 50 megapixels).
            batch_size: photos per forward pass.

        Returns:
            One `ExplainedFile` per path, in order: `.ok`, `.value(output)`,
            `.top_attributes(output, k)`, `.to_json()`, or `.error`
            (`siam_keras.runtime.file_explanations`).
        """
        return explain_files(self, paths, top_k,
                             DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels, batch_size)

    def __call__(self, images, top_k=DEFAULT_TOP_K):
        checked_top_k(top_k)  # before the (costly) forward pass
        return self.explain_predictions(self.predict(images), top_k)
