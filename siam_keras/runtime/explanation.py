"""`SIAMExplanation`: what, where and how, for a batch of images, as NumPy arrays."""

import dataclasses
import functools

import numpy as np

from siam_keras import vocabulary
from siam_keras.runtime.decomposition import decompose
from siam_keras.runtime.upsampling import upsample

#: Largest accepted |output - bias - sum(contributions)| (and spatial-split error),
#: relative to max(1, |output|).
RESIDUAL_TOLERANCE = 1e-4
DEFAULT_TOP_K = 8


class ExplanationError(ValueError):
    """The model's numbers do not add up as a SIAM model's must (the message says which)."""


@dataclasses.dataclass(frozen=True)
class OutputExplanation:
    """How the attributes make up one output, for B images (K attributes, h x w grid).

    Attributes:
        name: the output's name, e.g. `scenicness`.
        value: (B,) the model's output.
        bias: the output's bias (the value with every attribute absent).
        contributions: (B, K) what each attribute adds (> 0) or takes away (< 0);
            `value == bias + contributions.sum(axis=1)`.
        attribute_relevance: (B, h, w, K) where each attribute matters: its map
            weighted by its templates, signed by its effect; summed over (h, w) it
            gives `contributions`.
        spatial_contributions: (B, h, w) where the output comes from: the sum of
            `attribute_relevance` over attributes; it sums to `value - bias`.
        top_k: (B, k) attribute indices by decreasing |contribution|.
        max_residual: the largest |value - bias - sum(contributions)| and
            |sum_hw(attribute_relevance) - contributions| over the batch (the
            checks the explainer ran).
    """

    name: str
    value: np.ndarray
    bias: float
    contributions: np.ndarray
    attribute_relevance: np.ndarray
    spatial_contributions: np.ndarray
    top_k: np.ndarray
    max_residual: float


@dataclasses.dataclass(frozen=True)
class SIAMExplanation:
    """A SIAM model's prediction and its explanation, from one forward pass.

    Attributes:
        attribute_names: the K attribute names.
        image_size: (height, width) of the model's input.
        attribute_scores: (B, K) what the model sees: the mean of each map.
        attribute_maps: (B, h, w, K) where it sees it, on the feature grid.
        outputs: dict of `OutputExplanation` by output name, in the model's order.

    `upsampled_attribute_maps` (B, height, width, K) are the maps resized to the
    input (bilinear), computed on first access. `to_json(i)` gives image i's numbers.
    """

    attribute_names: tuple
    image_size: tuple
    attribute_scores: np.ndarray
    attribute_maps: np.ndarray
    outputs: dict

    @classmethod
    def from_predictions(cls, head, predictions, image_size, top_k=DEFAULT_TOP_K,
                         tolerance=RESIDUAL_TOLERANCE):
        """A `SIAMExplanation` from a forward pass' outputs and the head's weights.

        Checks that each output is its bias plus the sum of its contributions, and
        that the contributions recomputed from the maps, and their spatial split,
        agree with the model's, within `tolerance` relative to max(1, |output|);
        raises `ExplanationError` otherwise.

        Args:
            head: `HeadWeights` of the model.
            predictions: dict of arrays as the model returns them.
            image_size: (height, width) of the model's input.
            top_k: how many attributes `top_k` ranks.
            tolerance: see above (a quantised model needs a looser one).
        """
        missing = [key for key in _required_keys(head.output_names) if key not in predictions]
        if missing:
            raise ExplanationError(
                f"The forward pass lacks {missing}; it returned {sorted(predictions)}"
            )
        maps = np.asarray(predictions[vocabulary.ATTRIBUTE_MAPS], dtype="float32")
        top_k = min(top_k, len(head.attribute_names))
        outputs = {}
        for name, output_head in head.outputs.items():
            value = np.asarray(predictions[name], dtype="float32")
            contributions = np.asarray(
                predictions[vocabulary.contributions_key(name)], dtype="float32"
            )
            split = decompose(output_head, maps)
            residual = _checked_residual(name, value, output_head.bias, contributions, split, tolerance)
            outputs[name] = OutputExplanation(
                name=name,
                value=value,
                bias=output_head.bias,
                contributions=contributions,
                attribute_relevance=split.relevance,
                spatial_contributions=split.spatial,
                top_k=np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :top_k],
                max_residual=residual,
            )
        return cls(
            attribute_names=tuple(head.attribute_names),
            image_size=tuple(image_size),
            attribute_scores=np.asarray(predictions[vocabulary.ATTRIBUTE_SCORES], dtype="float32"),
            attribute_maps=maps,
            outputs=outputs,
        )

    def __len__(self):
        return len(self.attribute_scores)

    @property
    def output_names(self):
        return tuple(self.outputs)

    @functools.cached_property
    def upsampled_attribute_maps(self):
        return upsample(self.attribute_maps, *self.image_size)

    def top_attributes(self, output, index, k=None):
        """[(attribute, contribution), ...] of image `index`, by decreasing |contribution|."""
        explained = self.output(output)
        order = explained.top_k[index] if k is None else explained.top_k[index][:k]
        return [(self.attribute_names[j], float(explained.contributions[index, j])) for j in order]

    def output(self, name):
        """The `OutputExplanation` of output `name`; raises naming the outputs if unknown."""
        if name not in self.outputs:
            raise ValueError(f"Unknown output {name!r}. The model's outputs: {list(self.outputs)}")
        return self.outputs[name]

    def to_json(self, index, labels=None):
        """A JSON-ready dict of image `index`: every number of its explanation.

        Args:
            index: the image's position in the batch.
            labels: optional dict of known output values for this image (shown
                beside the prediction); NaN or missing values are left out.
        """
        labels = labels or {}
        names = self.attribute_names
        outputs = {}
        for name, explained in self.outputs.items():
            entry = {"value": float(explained.value[index]), "bias": explained.bias}
            label = labels.get(name)
            if label is not None and np.isfinite(label):
                entry["label"] = float(label)
            entry[vocabulary.CONTRIBUTIONS] = _named(names, explained.contributions[index])
            entry["top_k"] = [
                {"attribute": a, "contribution": c} for a, c in self.top_attributes(name, index)
            ]
            entry[vocabulary.SPATIAL_CONTRIBUTIONS] = explained.spatial_contributions[index].tolist()
            outputs[name] = entry
        maps = self.attribute_maps[index]
        return {
            "feature_grid": list(maps.shape[:2]),
            "image_size": list(self.image_size),
            vocabulary.ATTRIBUTE_SCORES: _named(names, self.attribute_scores[index]),
            "outputs": outputs,
            vocabulary.ATTRIBUTE_MAPS: {a: maps[:, :, k].tolist() for k, a in enumerate(names)},
        }


def _named(names, values):
    return {name: float(v) for name, v in zip(names, values)}


def _required_keys(output_names):
    return (vocabulary.ATTRIBUTE_MAPS, vocabulary.ATTRIBUTE_SCORES, *output_names,
            *map(vocabulary.contributions_key, output_names))


def _checked_residual(name, value, bias, contributions, split, tolerance):
    """The largest relative residual of the three checks; raises if one exceeds `tolerance`."""
    scale = np.maximum(1.0, np.abs(value.astype("float64")))[:, None]
    total = contributions.sum(axis=1, dtype="float64")[:, None]
    residuals = {
        "value - bias - sum(contributions)": np.abs(value[:, None] - bias - total),
        "contributions recomputed from the maps": np.abs(split.contributions - contributions),
        "spatial split of the contributions": np.abs(split.totals - contributions),
    }
    worst = 0.0
    for what, residual in residuals.items():
        error = float((residual / scale).max(initial=0.0))
        if not error <= tolerance:
            raise ExplanationError(
                f"Output {name!r}: {what} is off by {error:.3g} (relative to max(1, |output|); "
                f"tolerance {tolerance:g}). These numbers do not add up as a SIAM head's must."
            )
        worst = max(worst, error)
    return worst
