"""`SIAMIntervention`: counterfactual outputs with attributes scaled or removed."""

import dataclasses
import numbers

import numpy as np

from siam_keras import vocabulary
from siam_keras.runtime.decomposition import decompose


def validate_factors(factors, attribute_names, grid_shape):
    """Checks `{attribute: factor}` and returns factors as float32 arrays of `grid_shape`.

    A factor is a number >= 0 or an array of them broadcastable to `grid_shape`
    (batch, h, w): 0 removes the attribute (there), 1 keeps it, 2 doubles it.
    """
    if not isinstance(factors, dict) or not factors:
        raise TypeError(
            "`factors` must be a non-empty dict {attribute: factor}, e.g. {'road': 0.0}. "
            f"Received: {factors!r}"
        )
    checked = {}
    for name, factor in factors.items():
        if name not in attribute_names:
            raise ValueError(
                f"Unknown attribute {name!r}. The model's attributes: {list(attribute_names)}"
            )
        if isinstance(factor, bool) or not (
            isinstance(factor, numbers.Real) or isinstance(factor, np.ndarray)
        ):
            raise TypeError(
                f"The factor of {name!r} must be a number or a NumPy array. Received: {factor!r}"
            )
        values = np.asarray(factor, dtype="float32")
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(
                f"The factor of {name!r} must be finite and >= 0 (0 removes the attribute). "
                f"Received: {factor!r}"
            )
        try:
            checked[name] = np.broadcast_to(values, grid_shape)
        except ValueError:
            raise ValueError(
                f"The factor of {name!r} has shape {values.shape}, which does not broadcast to "
                f"the maps' (batch, h, w) = {tuple(grid_shape)}"
            ) from None
    return checked


def edited_maps(maps, factors, attribute_names):
    """(checked factors, a copy of the (B, h, w, K) `maps` with each attribute's map
    multiplied by its factor): the edit every intervention makes.

    Raises:
        TypeError, ValueError: as `validate_factors`.
    """
    maps = np.asarray(maps, dtype="float32")
    factors = validate_factors(factors, attribute_names, maps.shape[:3])
    edited = maps.copy()
    for name, factor in factors.items():
        edited[..., list(attribute_names).index(name)] *= factor
    return factors, edited


def intervention_from_predictions(head, predictions, factors):
    """`SIAMIntervention` from a forward pass' outputs and the head's weights alone.

    The counterfactual contributions are those the head gives the edited maps
    (`decomposition.decompose`): what `SIAMExplainer.intervene` computes with the
    Keras layer, here in NumPy for any runtime (LiteRT, TF Serving, the web page).

    Args:
        head: `HeadWeights`.
        predictions: {key: (B, ...) array} with the maps, outputs and contributions.
        factors: as `validate_factors` takes them.
    """
    factors, edited = edited_maps(predictions[vocabulary.ATTRIBUTE_MAPS], factors,
                                  head.attribute_names)
    names = head.output_names
    counterfactual = {name: decompose(head.outputs[name], edited).contributions for name in names}
    keys = {name: vocabulary.contributions_key(name) for name in names}
    return SIAMIntervention(
        factors=factors,
        attribute_names=tuple(head.attribute_names),
        outputs={name: np.asarray(predictions[name]) for name in names},
        counterfactual_outputs={name: head.outputs[name].bias + c.sum(axis=1)
                                for name, c in counterfactual.items()},
        contributions={name: np.asarray(predictions[keys[name]]) for name in names},
        counterfactual_contributions=counterfactual,
    )


@dataclasses.dataclass(frozen=True)
class SIAMIntervention:
    """The outputs of B images before and after an intervention on attribute maps.

    Attributes:
        factors: {attribute: (B, h, w) factor} that scaled the maps.
        attribute_names: the K attribute names.
        outputs, counterfactual_outputs: {output: (B,)} before and after; (B, C)
            logits for a classification output with C classes.
        contributions, counterfactual_contributions: {output: (B, K)}; (B, K, C).

    `output_change` and `contribution_change` are the differences (after - before).
    """

    factors: dict
    attribute_names: tuple
    outputs: dict
    counterfactual_outputs: dict
    contributions: dict
    counterfactual_contributions: dict

    @property
    def output_change(self):
        return {name: self.counterfactual_outputs[name] - v for name, v in self.outputs.items()}

    @property
    def contribution_change(self):
        return {
            name: self.counterfactual_contributions[name] - v
            for name, v in self.contributions.items()
        }
