"""The exact spatial decomposition of SIAM's contributions, in NumPy.

A SIAM output is `bias + sum_k c_k` with, for attribute k,

    c_k = sum_g m_kg * relu(r_kg),    r_kg = sum_hw M_k[h, w] * U_kg[h, w]

where M_k is the attribute map on the feature grid, U_kg its template g pulled
back to that grid (`SIAMLayer.cell_templates`) and m_kg the signed mixing weights.
So c_k splits over the cells of the grid exactly:

    c_k = sum_hw R_k[h, w],    R_k[h, w] = M_k[h, w] * sum_g [r_kg > 0] m_kg U_kg[h, w]

R_k is where attribute k matters (its map weighted by its templates, signed by its
effect), and sum_k R_k is where the output comes from. A classification output is
C such heads, one per class (sharing the templates U or not): every array gains a
trailing class axis. This module needs only the
head's weights and the maps: it runs wherever the maps come from (Keras, LiteRT).
"""

import dataclasses
import functools

import numpy as np


@dataclasses.dataclass(frozen=True)
class OutputHead:
    """One output's head on the feature grid.

    Attributes:
        cell_templates: (H, W, K, G) templates pulled back to the feature grid;
            (H, W, K, G, C) for a classification output with per-class templates.
        mixing: (K, G) signed mixing weights; (K, G, C) for a classification output.
        bias: the output's bias; (C,) biases for a classification output.
        classes: the class names of a classification output, None for regression.
    """

    cell_templates: np.ndarray
    mixing: np.ndarray
    bias: object
    classes: tuple = None

    def __post_init__(self):
        if self.classes is not None and len(self.classes) < 2:
            raise ValueError(f"A classification head needs at least 2 classes. Received: "
                             f"{list(self.classes)}")
        height, width, k = self.cell_templates.shape[:3]
        expected = 4 if self.classes is None else (4, 5)
        count = () if self.classes is None else (len(self.classes),)
        if (self.cell_templates.ndim not in np.atleast_1d(expected)
                or self.mixing.shape != (k, self.cell_templates.shape[3], *count)
                or np.shape(self.bias) != count
                or (self.cell_templates.ndim == 5 and self.cell_templates.shape[4:] != count)):
            raise ValueError(
                f"Inconsistent head: cell_templates {self.cell_templates.shape}, mixing "
                f"{self.mixing.shape}, bias {np.shape(self.bias)} for "
                f"{'a regression output' if self.classes is None else f'{count[0]} classes'}")

    @property
    def is_classification(self):
        return self.classes is not None

    @functools.cached_property
    def class_heads(self):
        """The C regression-shaped heads of a classification output, one per class."""
        per_class = self.cell_templates.ndim == 5
        return tuple(
            OutputHead(cell_templates=self.cell_templates[..., c] if per_class
                       else self.cell_templates,
                       mixing=np.ascontiguousarray(self.mixing[..., c]),
                       bias=float(self.bias[c]))
            for c in range(len(self.classes)))

    def to_json(self):
        entry = {"bias": np.asarray(self.bias).tolist(), "mixing": self.mixing.tolist(),
                 "cell_templates": self.cell_templates.tolist()}
        if self.is_classification:
            entry["classes"] = list(self.classes)
        return entry

    @classmethod
    def from_json(cls, entry):
        classes = entry.get("classes")
        return cls(cell_templates=np.asarray(entry["cell_templates"], dtype="float32"),
                   mixing=np.asarray(entry["mixing"], dtype="float32"),
                   bias=(float(entry["bias"]) if classes is None
                         else np.asarray(entry["bias"], dtype="float32")),
                   classes=None if classes is None else tuple(map(str, classes)))

    @functools.cached_property
    def by_attribute(self):
        """`cell_templates` as (K, H*W, G), the layout `decompose` multiplies with."""
        height, width, k, g = self.cell_templates.shape
        return np.ascontiguousarray(self.cell_templates.reshape(height * width, k, g).transpose(1, 0, 2))


@dataclasses.dataclass(frozen=True)
class HeadWeights:
    """What the decomposition needs of a SIAM head: names and, per output, `OutputHead`;
    `distribution`, the `TrainingDistribution` of the model's training photos (None for
    a model trained before siam-keras kept one)."""

    attribute_names: tuple
    outputs: dict
    distribution: object = None

    @classmethod
    def from_layer(cls, layer):
        """Reads the current weights of a built `SIAMLayer`."""
        outputs = {}
        for name in layer.output_names:
            classes = layer.output_classes.get(name)
            bias = np.asarray(layer.biases[name], dtype="float32")
            outputs[name] = OutputHead(
                cell_templates=layer.cell_templates(name),
                mixing=np.asarray(layer.mixing[name], dtype="float32"),
                bias=float(bias) if classes is None else bias,
                classes=None if classes is None else tuple(classes),
            )
        return cls(tuple(layer.attribute_names), outputs,
                   getattr(layer, "training_distribution", None))

    @property
    def output_names(self):
        return tuple(self.outputs)

    @property
    def output_classes(self):
        """{output: class names} of the classification outputs."""
        return {name: head.classes for name, head in self.outputs.items() if head.classes}

    @property
    def feature_shape(self):
        """(H, W) of the feature grid the maps live on."""
        return next(iter(self.outputs.values())).cell_templates.shape[:2]


@dataclasses.dataclass(frozen=True)
class Decomposition:
    """One output's contributions and their exact split over the feature grid.

    Attributes:
        contributions: (B, K) recomputed from the maps and the head's weights.
        relevance: (B, H, W, K) per-cell relevance of each attribute.
        totals: (B, K) relevance summed over the grid (equals `contributions` up
            to float rounding: the check that the split is exact).
        spatial: (B, H, W) relevance summed over attributes.

    A classification output's arrays have a trailing class axis (C).
    """

    contributions: np.ndarray
    relevance: np.ndarray
    totals: np.ndarray
    spatial: np.ndarray


def decompose(head, attribute_maps):
    """Splits one output's contributions over the cells of the feature grid.

    Args:
        head: `OutputHead`.
        attribute_maps: (B, H, W, K) non-negative maps on the head's grid.

    Returns:
        A `Decomposition`.
    """
    if head.is_classification:
        splits = [decompose(class_head, attribute_maps) for class_head in head.class_heads]
        return Decomposition(*(np.stack([getattr(split, field.name) for split in splits], axis=-1)
                               for field in dataclasses.fields(Decomposition)))
    maps = np.asarray(attribute_maps, dtype="float32")
    cells = head.cell_templates
    if maps.ndim != 4 or maps.shape[1:] != cells.shape[:3]:
        raise ValueError(
            f"Attribute maps must be (batch, {cells.shape[0]}, {cells.shape[1]}, "
            f"{cells.shape[2]}) to match the head. Received: {maps.shape}"
        )
    batch, height, width, k = maps.shape
    # Attribute-first layout: every product below is one batched matrix product.
    by_attribute = np.ascontiguousarray(maps.reshape(batch, height * width, k).transpose(2, 0, 1))
    cells_by_attribute = head.by_attribute
    mixing = head.mixing[:, None, :]  # (K, 1, G)
    responses = by_attribute @ cells_by_attribute  # (K, B, G)
    contributions = np.sum(np.maximum(responses, 0.0) * mixing, axis=-1)  # (K, B)
    cell_weights = ((responses > 0) * mixing) @ cells_by_attribute.transpose(0, 2, 1)  # (K, B, N)
    relevance = by_attribute * cell_weights  # (K, B, N)
    return Decomposition(
        contributions=contributions.T,
        relevance=relevance.reshape(k, batch, height, width).transpose(1, 2, 3, 0),
        totals=relevance.sum(axis=-1).T,
        spatial=relevance.sum(axis=0).reshape(batch, height, width),
    )

