"""`SIAMExplanation`: what, where and how, for a batch of images, as NumPy arrays."""

import dataclasses
import functools

import numpy as np

from siam_keras import vocabulary
from siam_keras.runtime.decomposition import Decomposition, decompose
from siam_keras.runtime.out_of_distribution import OutOfDistribution
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
        classes: a classification output's C class names (None for regression).
            Then `value` holds (B, C) logits, `bias` (C,), and every other array a
            trailing class axis; `top_k` ranks the attributes by what they add to
            each image's predicted class beyond their mean over the classes
            (`ranked_contributions`).
    """

    name: str
    value: np.ndarray
    bias: float
    contributions: np.ndarray
    attribute_relevance: np.ndarray
    spatial_contributions: np.ndarray
    top_k: np.ndarray
    max_residual: float
    classes: tuple = None

    @property
    def is_classification(self):
        return self.classes is not None

    def ranked_contributions(self, index):
        """(K,) what `top_k` ranks image `index`'s attributes by: their contributions, or
        for a classification output what each adds to the predicted class beyond its
        mean over the classes (softmax is blind to what every class gets alike, so only
        that part is the model's to learn)."""
        if not self.is_classification:
            return self.contributions[index]
        return _centred_for_predicted(self.value[index : index + 1],
                                      self.contributions[index : index + 1])[0]

    def ranked_classes(self, index):
        """A classification output's class indices for image `index`, best first."""
        return np.argsort(-self.value[index], kind="stable")

    def probabilities(self, index):
        """Softmax of image `index`'s logits (C,)."""
        logits = self.value[index].astype("float64")
        exp = np.exp(logits - logits.max())
        return exp / exp.sum()

    def image(self, index, class_index=None):
        """Image `index`'s `ImageOutput`: the output, or (classification) the logit of
        `class_index` (default: the predicted class)."""
        if not self.is_classification:
            return ImageOutput(self.name, float(self.value[index]), float(self.bias),
                               self.contributions[index], self.spatial_contributions[index])
        c = int(self.ranked_classes(index)[0] if class_index is None else class_index)
        return ImageOutput(f"{self.name} = {self.classes[c]}", float(self.value[index, c]),
                           float(self.bias[c]), self.contributions[index, :, c],
                           self.spatial_contributions[index, :, :, c])

    def versus(self, index, first=None, second=None):
        """What separates class `first` from class `second` in image `index` (default: the
        predicted class and the runner-up): the difference of their `ImageOutput`s."""
        ranked = self.ranked_classes(index)
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
            if output_head.is_classification:
                residual = _checked_class_residuals(name, value, output_head, contributions,
                                                    split, tolerance)
                ranked = _centred_for_predicted(value, contributions)
            else:
                residual = _checked_residual(name, value, output_head.bias, contributions, split,
                                             tolerance)
                ranked = contributions
            outputs[name] = OutputExplanation(
                name=name,
                value=value,
                bias=output_head.bias,
                contributions=contributions,
                attribute_relevance=split.relevance,
                spatial_contributions=split.spatial,
                top_k=np.argsort(-np.abs(ranked), axis=1, kind="stable")[:, :top_k],
                max_residual=residual,
                classes=output_head.classes,
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
        outputs = {}
        for name, explained in self.outputs.items():
            if explained.is_classification:
                outputs[name] = self._class_json(explained, index, labels.get(name))
                continue
            entry = {"kind": "regression", "value": float(explained.value[index]),
                     "bias": explained.bias}
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


    def _class_json(self, explained, index, label=None):
        """A classification output's JSON entry: the predicted class (`value`), every
        class' logit, probability, bias and contributions, and what separates the
        predicted class from the runner-up."""
        names, classes = self.attribute_names, explained.classes
        ranked = explained.ranked_classes(index)
        versus = explained.versus(index)
        order = np.argsort(-np.abs(versus.contributions), kind="stable")[:len(explained.top_k[index])]
        entry = {"kind": "classification", "value": classes[ranked[0]],
                 "runner_up": classes[ranked[1]], "classes": list(classes),
                 "logits": _named(classes, explained.value[index]),
                 "probabilities": _named(classes, explained.probabilities(index)),
                 "bias": _named(classes, explained.bias)}
        if isinstance(label, (int, np.integer)) and 0 <= label < len(classes):
            entry["label"] = classes[label]
        elif isinstance(label, str) and label in classes:
            entry["label"] = label
        entry[vocabulary.CONTRIBUTIONS] = {
            c: _named(names, explained.contributions[index, :, j]) for j, c in enumerate(classes)}
        entry["top_k"] = [{"attribute": a, "contribution": v}
                          for a, v in self.top_attributes(explained.name, index)]
        entry["versus_runner_up"] = {
            "logit_difference": versus.value, "bias_difference": versus.bias,
            vocabulary.CONTRIBUTIONS: _named(names, versus.contributions),
            "top_k": [{"attribute": names[j], "contribution": float(versus.contributions[j])}
                      for j in order]}
        entry[vocabulary.SPATIAL_CONTRIBUTIONS] = explained.image(index).spatial_contributions.tolist()
        return entry


def _centred_for_predicted(logits, contributions):
    """(B, K): each attribute's contribution to each image's predicted class minus its
    mean over the classes."""
    predicted = np.argmax(logits, axis=1)[:, None, None]
    centred = contributions - contributions.mean(axis=2, keepdims=True)
    return np.take_along_axis(centred, predicted, axis=2)[..., 0]


def _named(names, values):
    return {name: float(v) for name, v in zip(names, values)}


def _required_keys(output_names):
    return (vocabulary.ATTRIBUTE_MAPS, vocabulary.ATTRIBUTE_SCORES, *output_names,
            *map(vocabulary.contributions_key, output_names))


def _checked_class_residuals(name, logits, head, contributions, split, tolerance):
    """`_checked_residual` of each class of a classification output; the largest."""
    if logits.ndim != 2 or logits.shape[1] != len(head.classes) or contributions.ndim != 3:
        raise ExplanationError(
            f"Output {name!r} has {len(head.classes)} classes: expected (batch, "
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
