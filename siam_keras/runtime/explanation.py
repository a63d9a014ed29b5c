"""`SIAMExplanation`: what, where and how, for a batch of images, as NumPy arrays."""

import dataclasses
import functools

import numpy as np

from siam_keras import vocabulary
from siam_keras.runtime.decomposition import Decomposition, decompose
from siam_keras.runtime.out_of_distribution import OutOfDistribution
from siam_keras.runtime.output_kinds import REGRESSION, OutputKind
from siam_keras.runtime.upsampling import upsample

#: Largest accepted |output - bias - sum(contributions)| (and spatial-split error),
#: relative to max(1, |output|).
RESIDUAL_TOLERANCE = 1e-4
DEFAULT_TOP_K = 8


class ExplanationError(ValueError):
    """The model's numbers do not add up as a SIAM model's must (the message says which)."""


@dataclasses.dataclass(frozen=True)
class ImageOutput:
    """One image's explanation of one number: a regression output, a class' logit, or
    the difference of two classes' logits (what separates them).

    Attributes:
        label: what the number is, e.g. `scenicness`, `landscape = coast`, or
            `landscape: coast - town`.
        value: the number; `value == bias + contributions.sum()`.
        bias: its bias.
        contributions: (K,) per attribute.
        spatial_contributions: (h, w) where it comes from.
    """

    label: str
    value: float
    bias: float
    contributions: np.ndarray
    spatial_contributions: np.ndarray


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
        kind: the output's `OutputKind`. A labelled output (C classes or tags) has
            (B, C) logits in `value`, (C,) biases in `bias`, and every other array a
            trailing label axis; `top_k` ranks the attributes by what the kind ranks
            them by (`ranked_contributions`: for a classification output, what they
            add to the predicted class beyond their mean over the classes).
    """

    name: str
    value: np.ndarray
    bias: float
    contributions: np.ndarray
    attribute_relevance: np.ndarray
    spatial_contributions: np.ndarray
    top_k: np.ndarray
    max_residual: float
    kind: OutputKind = REGRESSION

    @property
    def classes(self):
        """The labels (classes or tags) of a labelled output, None for regression."""
        return self.kind.labels or None

    def ranked_contributions(self, index):
        """(K,) what `top_k` ranks image `index`'s attributes by (`OutputKind.ranked`)."""
        return self.kind.ranked(self.value[index : index + 1],
                                self.contributions[index : index + 1])[0]

    def ranked_labels(self, index):
        """A labelled output's label indices for image `index`, most likely first."""
        return np.argsort(-self.value[index], kind="stable")

    def probabilities(self, index):
        """Image `index`'s (C,) probabilities (`OutputKind.probabilities`)."""
        return self.kind.probabilities(self.value[index])

    def image(self, index, class_index=None):
        """Image `index`'s `ImageOutput`: the output, or (labelled) the logit of label
        `class_index` (default: the most likely)."""
        if not self.kind.labelled:
            return ImageOutput(self.name, float(self.value[index]), float(self.bias),
                               self.contributions[index], self.spatial_contributions[index])
        c = int(self.ranked_labels(index)[0] if class_index is None else class_index)
        return ImageOutput(f"{self.name} = {self.classes[c]}", float(self.value[index, c]),
                           float(self.bias[c]), self.contributions[index, :, c],
                           self.spatial_contributions[index, :, :, c])

    def shown(self, index):
        """The `ImageOutput` a figure shows of image `index`: what separates the two
        most likely labels when the kind's explanation is a contrast, else `image`."""
        return self.versus(index) if self.kind.contrast else self.image(index)

    def versus(self, index, first=None, second=None):
        """What separates label `first` from label `second` in image `index` (default: the
        two most likely): the difference of their `ImageOutput`s."""
        ranked = self.ranked_labels(index)
        first = int(ranked[0] if first is None else first)
        second = int(ranked[1] if second is None else second)
        a, b = self.image(index, first), self.image(index, second)
        return ImageOutput(f"{self.name}: {self.classes[first]} - {self.classes[second]}",
                           a.value - b.value, a.bias - b.bias,
                           a.contributions - b.contributions,
                           a.spatial_contributions - b.spatial_contributions)


@dataclasses.dataclass(frozen=True)
class SIAMExplanation:
    """A SIAM model's prediction and its explanation, from one forward pass.

    Attributes:
        attribute_names: the K attribute names.
        image_size: (height, width) of the model's input.
        attribute_scores: (B, K) what the model sees: the mean of each map.
        attribute_maps: (B, h, w, K) where it sees it, on the feature grid.
        outputs: dict of `OutputExplanation` by output name, in the model's order.
        out_of_distribution: `OutOfDistribution`, each image's distance from the
            model's training photos and whether it is unlike them (None when the
            model keeps no `TrainingDistribution`).

    `upsampled_attribute_maps` (B, height, width, K) are the maps resized to the
    input (bilinear), computed on first access. `to_json(i)` gives image i's numbers.
    """

    attribute_names: tuple
    image_size: tuple
    attribute_scores: np.ndarray
    attribute_maps: np.ndarray
    outputs: dict
    out_of_distribution: OutOfDistribution = None

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
            if output_head.kind.labelled:
                residual = _checked_label_residuals(name, value, output_head, contributions,
                                                    split, tolerance)
            else:
                residual = _checked_residual(name, value, output_head.bias, contributions, split,
                                             tolerance)
            ranked = output_head.kind.ranked(value, contributions)
            outputs[name] = OutputExplanation(
                name=name,
                value=value,
                bias=output_head.bias,
                contributions=contributions,
                attribute_relevance=split.relevance,
                spatial_contributions=split.spatial,
                top_k=np.argsort(-np.abs(ranked), axis=1, kind="stable")[:, :top_k],
                max_residual=residual,
                kind=output_head.kind,
            )
        return cls(
            attribute_names=tuple(head.attribute_names),
            image_size=tuple(image_size),
            attribute_scores=np.asarray(predictions[vocabulary.ATTRIBUTE_SCORES], dtype="float32"),
            attribute_maps=maps,
            outputs=outputs,
            out_of_distribution=None if head.distribution is None
            else head.distribution.out_of_distribution(maps),
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
        """[(attribute, contribution), ...] of image `index`, by decreasing |contribution|
        (to the predicted class, for a classification output)."""
        explained = self.output(output)
        order = explained.top_k[index] if k is None else explained.top_k[index][:k]
        contributions = explained.ranked_contributions(index)
        return [(self.attribute_names[j], float(contributions[j])) for j in order]

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
        outputs = {name: explained.kind.json_entry(explained, index, names, labels.get(name))
                   for name, explained in self.outputs.items()}
        maps = self.attribute_maps[index]
        record = {
            "feature_grid": list(maps.shape[:2]),
            "image_size": list(self.image_size),
            vocabulary.ATTRIBUTE_SCORES: _named(names, self.attribute_scores[index]),
            "outputs": outputs,
            vocabulary.ATTRIBUTE_MAPS: {a: maps[:, :, k].tolist() for k, a in enumerate(names)},
        }
        if self.out_of_distribution is not None:
            record[vocabulary.OUT_OF_DISTRIBUTION] = self.out_of_distribution.to_json(index)
        return record



def _named(names, values):
    return {name: float(v) for name, v in zip(names, values)}


def _required_keys(output_names):
    return (vocabulary.ATTRIBUTE_MAPS, vocabulary.ATTRIBUTE_SCORES, *output_names,
            *map(vocabulary.contributions_key, output_names))


def _checked_label_residuals(name, logits, head, contributions, split, tolerance):
    """`_checked_residual` of each label of a labelled output; the largest."""
    if logits.ndim != 2 or logits.shape[1] != len(head.classes) or contributions.ndim != 3:
        raise ExplanationError(
            f"Output {name!r} has {head.kind.describe()}: expected (batch, "
            f"{len(head.classes)}) logits and (batch, K, {len(head.classes)}) contributions. "
            f"Received: {logits.shape} and {contributions.shape}")
    worst = 0.0
    for c, class_name in enumerate(head.classes):
        class_split = Decomposition(*(getattr(split, f.name)[..., c]
                                      for f in dataclasses.fields(Decomposition)))
        worst = max(worst, _checked_residual(f"{name}[{class_name}]", logits[:, c],
                                             float(head.bias[c]), contributions[..., c],
                                             class_split, tolerance))
    return worst


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
