"""Losses of the multi-task objective. Each returns one value per sample, so that
sample weights can mask samples whose label is missing (two-dataset training)."""

import keras
from keras import ops

from siam_keras import vocabulary


@keras.saving.register_keras_serializable(package="siam_training")
class AttributeLoss(keras.losses.Loss):
    """Binary cross-entropy between labels in [0, 1] and tanh(attribute score).

    Attribute scores are spatial means of non-negative maps, so tanh maps them
    into [0, 1) (the authors' choice). Returns the mean over attributes, (B,).
    """

    def __init__(self, epsilon=1e-6, name="attribute_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.epsilon = epsilon

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        p = ops.clip(ops.tanh(ops.cast(y_pred, "float32")), self.epsilon, 1.0 - self.epsilon)
        bce = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
        return ops.mean(bce, axis=-1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="siam_training")
class SquaredError(keras.losses.Loss):
    """(y_true - y_pred)^2 per sample, for scalar outputs of shape (B,)."""

    def __init__(self, name="squared_error", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return ops.square(ops.cast(y_true, "float32") - ops.cast(y_pred, "float32"))


def siam_losses(output_names):
    """The SIAM objective's losses by output key: squared error per named output and
    `AttributeLoss` on `attribute_scores`."""
    losses = {name: SquaredError() for name in output_names}
    losses[vocabulary.ATTRIBUTE_SCORES] = AttributeLoss()
    return losses
