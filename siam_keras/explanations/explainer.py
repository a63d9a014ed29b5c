"""`SIAMExplainer`: a SIAM model's prediction and its what-where-how explanation."""

import dataclasses

import numpy as np

from siam_keras import vocabulary
from siam_keras.explanations.base import ModelExplainer
from siam_keras.models.siam_model import get_siam_layer
from siam_keras.runtime.decomposition import HeadWeights
from siam_keras.runtime.explanation import DEFAULT_TOP_K, ExplanationError
from siam_keras.runtime.intervention import SIAMIntervention, edited_maps
from siam_keras.runtime.prediction_explainer import PredictionExplainer


class SIAMExplainer(ModelExplainer, PredictionExplainer):
    """Explains a SIAM model's predictions from the forward pass that makes them.

    No gradients and no extra passes: the attribute maps, contributions and outputs
    come from one call of the model; where each attribute matters is the exact split
    of its contribution over the feature grid (`decomposition`). Every explanation
    is checked: the contributions must add up to the output, and their spatial
    split to the contributions, within `RESIDUAL_TOLERANCE`.

    Args:
        model: a SIAM model (`build_siam_model`, or loaded with
            `siam_keras.saving.load_model`) taking raw RGB pixels.
        batch_size: images per forward pass.

    Call arguments:
        images: (B, height, width, 3) raw RGB pixels (0-255, uint8 or float) at the
            model's input size, or one (height, width, 3) image.
        top_k: how many attributes `top_k` ranks (default 8, at most K).

    Returns:
        A `SIAMExplanation`.

    Example:
    >>> explainer = SIAMExplainer(model)
    >>> explanation = explainer(images)
    >>> explanation.top_attributes("scenicness", 0, k=3)
    [('trees', 1.21), ('road', -0.64), ('water', 0.35)]
    >>> what_if = explainer.intervene(images, {"road": 0.0})
    >>> what_if.output_change["scenicness"]      # = minus road's contribution
    """

    def __init__(self, model, batch_size=32):
        super().__init__(model, batch_size)  # refuses what is not a SIAM or baseline model
        self.layer = get_siam_layer(model)  # refuses a baseline
        self.head = HeadWeights.from_layer(self.layer)

    def predict(self, images):
        """The model's forward pass, batched: a dict of NumPy arrays."""
        chunks = [self.model.predict_on_batch(batch) for batch in self.batches(self.pixels(images))]
        return _concatenate(chunks, np.asarray)

    def explain_predictions(self, predictions, top_k=DEFAULT_TOP_K):
        """Builds the explanation from a forward pass' outputs (a dict of arrays).

        The head's weights are read once and reused. If they changed since (more
        training), the check that the contributions add up fails; the weights are
        then read again and the check repeated, so a stale copy is never used. The
        layer's training distribution, which no check would catch, is compared each
        time (`siam-train` sets it after training).
        """
        if self.layer.training_distribution is not self.head.distribution:
            self.head = dataclasses.replace(self.head,
                                            distribution=self.layer.training_distribution)
        try:
            return super().explain_predictions(predictions, top_k)
        except ExplanationError:
            self.head = HeadWeights.from_layer(self.layer)
            return super().explain_predictions(predictions, top_k)

    def intervene(self, images, factors):
        """What the outputs would be with some attributes' maps scaled or removed.

        Args:
            images: as for `__call__`.
            factors: {attribute: factor}; a factor is a number >= 0 (0 removes the
                attribute, 2 doubles it) or an array broadcastable to the maps'
                (batch, h, w) grid (0 where the attribute should vanish).

        Returns:
            A `SIAMIntervention`: the original and counterfactual outputs and
            contributions, and their changes. The counterfactual runs the model's
            own head (`SIAMLayer.outputs_from_maps`) on the edited maps.
        """
        predictions = self.predict(images)
        factors, edited = edited_maps(predictions[vocabulary.ATTRIBUTE_MAPS], factors,
                                      self.attribute_names)
        counterfactual = self._head_outputs(edited)
        keys = [vocabulary.contributions_key(name) for name in self.output_names]
        return SIAMIntervention(
            factors=factors,
            attribute_names=self.attribute_names,
            outputs={name: predictions[name] for name in self.output_names},
            counterfactual_outputs={name: counterfactual[name] for name in self.output_names},
            contributions={name: predictions[key] for name, key in zip(self.output_names, keys)},
            counterfactual_contributions={
                name: counterfactual[key] for name, key in zip(self.output_names, keys)
            },
        )

    def _head_outputs(self, maps):
        import keras

        chunks = [self.layer.outputs_from_maps(batch) for batch in self.batches(maps)]
        return _concatenate(chunks, keras.ops.convert_to_numpy)


def _concatenate(chunks, to_numpy):
    """Joins a list of output dicts along the batch (no copy for a single chunk)."""
    if len(chunks) == 1:
        return {key: to_numpy(value) for key, value in chunks[0].items()}
    return {key: np.concatenate([to_numpy(c[key]) for c in chunks]) for key in chunks[0]}
