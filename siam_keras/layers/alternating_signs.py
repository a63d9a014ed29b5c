"""The paper's initialisation of the per-template mixing weights."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="siam_keras")
class AlternatingSigns(keras.initializers.Initializer):
    """Fills a (num_attributes, num_templates) weight with +m/K, -m/K, +m/K, ...

    A (num_attributes, num_templates, num_classes) weight (a classification
    output's mixing) gets the same values for every class.

    The authors' code mixes each attribute's G template responses with weights
    initialised at +0.5 and -0.5, then sums attributes with a linear layer whose
    weights are 1/K. `SIAMLayer` folds that linear layer into the mixing weights so
    that an output is exactly the sum of its contributions plus a bias; this
    initializer gives the same starting point: magnitude / K with signs alternating
    along the template axis (a single template gets +magnitude / K).

    Args:
        magnitude: the absolute value before division by K. Paper: 0.5.
    """

    def __init__(self, magnitude=0.5):
        if not isinstance(magnitude, (int, float)) or magnitude < 0:
            raise ValueError(
                f"`magnitude` must be a non-negative number. Received: magnitude={magnitude!r}"
            )
        self.magnitude = float(magnitude)

    def __call__(self, shape, dtype=None):
        if len(shape) not in (2, 3):
            raise ValueError(
                "AlternatingSigns expects a (num_attributes, num_templates) or (num_attributes, "
                f"num_templates, num_classes) shape. Received: shape={tuple(shape)}"
            )
        num_attributes, num_templates = shape[:2]
        signs = ops.where(ops.arange(num_templates) % 2 == 0, 1.0, -1.0)
        values = ops.ones((num_attributes, 1)) * signs[None, :]
        if len(shape) == 3:
            values = values[:, :, None] * ops.ones((1, 1, shape[2]))
        return ops.cast(values * (self.magnitude / num_attributes), dtype or "float32")

    def get_config(self):
        return {"magnitude": self.magnitude}
