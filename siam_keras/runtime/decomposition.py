"""The exact spatial decomposition of SIAM's contributions, in NumPy.

A SIAM output is `bias + sum_k c_k` with, for attribute k,

    c_k = sum_g m_kg * relu(r_kg),    r_kg = sum_hw M_k[h, w] * U_kg[h, w]

where M_k is the attribute map on the feature grid, U_kg its template g pulled
back to that grid (`SIAMLayer.cell_templates`) and m_kg the signed mixing weights.
So c_k splits over the cells of the grid exactly:

    c_k = sum_hw R_k[h, w],    R_k[h, w] = M_k[h, w] * sum_g [r_kg > 0] m_kg U_kg[h, w]

R_k is where attribute k matters (its map weighted by its templates, signed by its
effect), and sum_k R_k is where the output comes from. A labelled output (C classes
or tags, `output_kinds`) is C such heads, one per label (sharing the templates U or
not): every array gains a trailing label axis. This module needs only the
head's weights and the maps: it runs wherever the maps come from (Keras, LiteRT).
"""

import dataclasses
import functools

import numpy as np

from siam_keras.runtime.output_kinds import REGRESSION, classes_of, output_kind


@dataclasses.dataclass(frozen=True)
class OutputHead:
    """One output's head on the feature grid.

    Attributes:
        cell_templates: (H, W, K, G) templates pulled back to the feature grid;
            (H, W, K, G, C) for a labelled output with per-label templates.
        mixing: (K, G) signed mixing weights; (K, G, C) for a labelled output.
        bias: the output's bias; (C,) biases for a labelled output.
        kind: the output's `OutputKind` (regression by default).
    """

    cell_templates: np.ndarray
    mixing: np.ndarray
    bias: object
    kind: object = REGRESSION

    def __post_init__(self):
        height, width, k = self.cell_templates.shape[:3]
        count = self.kind.shape
        if (self.cell_templates.ndim not in ((4, 5) if count else (4,))
                or self.mixing.shape != (k, self.cell_templates.shape[3], *count)
                or np.shape(self.bias) != count
                or (self.cell_templates.ndim == 5 and self.cell_templates.shape[4:] != count)):
            raise ValueError(
                f"Inconsistent head: cell_templates {self.cell_templates.shape}, mixing "
                f"{self.mixing.shape}, bias {np.shape(self.bias)} for {self.kind.describe()}")

    @property
    def classes(self):
        """The labels of a labelled output (its classes or tags), None for regression."""
        return self.kind.labels or None

    @functools.cached_property
    def label_heads(self):
        """The C regression-shaped heads of a labelled output, one per label."""
        per_class = self.cell_templates.ndim == 5
        return tuple(
            OutputHead(cell_templates=self.cell_templates[..., c] if per_class
                       else self.cell_templates,
                       mixing=np.ascontiguousarray(self.mixing[..., c]),
                       bias=float(self.bias[c]))
            for c in range(len(self.kind.labels)))

    def to_json(self):
        return {"bias": np.asarray(self.bias).tolist(), "mixing": self.mixing.tolist(),
                "cell_templates": self.cell_templates.tolist(), **self.kind.to_json()}

    @classmethod
    def from_json(cls, entry):
        kind = output_kind(entry)
        return cls(cell_templates=np.asarray(entry["cell_templates"], dtype="float32"),
                   mixing=np.asarray(entry["mixing"], dtype="float32"),
                   bias=(np.asarray(entry["bias"], dtype="float32") if kind.labelled
                         else float(entry["bias"])),
                   kind=kind)

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
        outputs, kinds = {}, layer.output_kinds
        for name in layer.output_names:
            bias = np.asarray(layer.biases[name], dtype="float32")
            outputs[name] = OutputHead(
                cell_templates=layer.cell_templates(name),
                mixing=np.asarray(layer.mixing[name], dtype="float32"),
                bias=bias if kinds[name].labelled else float(bias),
                kind=kinds[name],
            )
        return cls(tuple(layer.attribute_names), outputs,
                   getattr(layer, "training_distribution", None))

    @property
    def output_names(self):
        return tuple(self.outputs)

    @property
    def output_kinds(self):
        """{output: OutputKind}."""
        return {name: head.kind for name, head in self.outputs.items()}

    @property
    def output_classes(self):
        """{output: class names} of the classification outputs."""
        return classes_of(self.output_kinds)

    @property
    def sidecar_format(self):
        """The oldest sidecar format that holds every output's kind (1, 2, ...)."""
        return max(head.kind.sidecar_format for head in self.outputs.values())

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

    A labelled output's arrays have a trailing label axis (C).
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
    if head.kind.labelled:
        splits = [decompose(label_head, attribute_maps) for label_head in head.label_heads]
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

