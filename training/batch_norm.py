"""Batch-normalisation statistics recomputed over training batches before each validation.

Keras' `BatchNormalization` keeps moving averages with momentum 0.99: their time
constant is 100 steps, and they start at mean 0 and variance 1. A small data set trains
for a few hundred steps, so after an epoch the moving statistics are still mostly their
initial values and lag weights that changed since: the model validated, checkpointed and
saved (inference mode) is not the model trained (training mode). On 600 photos at batch
32 (19 steps an epoch) the moving variances were still 0.81-0.97 after 12 epochs, and
every attribute map was dead in inference mode while fine in training mode.

So before each validation the statistics are recomputed for the weights as they are:
the exact mean of the per-batch statistics over `num_batches` training batches (PyTorch's
`torch.optim.swa_utils.update_bn`, "precise BN"): `fit_stage` gives the first batches of
the training order, the same every epoch. Layers that do not train (a frozen backbone)
keep theirs.
"""

import keras

from training import multi_host
from training.replicas import batch_normalizations

#: Training batches the statistics are averaged over (fewer when an epoch has fewer).
DEFAULT_BATCHES = 50


def recompute_batch_norm_statistics(model, batches, num_batches=DEFAULT_BATCHES):
    """Sets the moving mean and variance of `model`'s trainable `BatchNormalization`
    layers to the mean of their batch statistics over up to `num_batches` batches.

    Args:
        model: a Keras model.
        batches: an iterable (a `tf.data.Dataset` included) of batches whose first
            element is the images, as `model.fit` takes them.
        num_batches: how many batches to average over.

    Returns:
        The number of batches used (0 when the model has no trainable batch norm).
    """
    return BatchNormStatistics(batches, num_batches).recompute(model)


class BatchNormStatistics(keras.callbacks.Callback):
    """Recomputes the batch-norm statistics (`recompute_batch_norm_statistics`) at the end
    of every epoch. Place it before the validation and the checkpoint, so that both see
    the model as it will be saved."""

    def __init__(self, batches, num_batches=DEFAULT_BATCHES):
        super().__init__()
        self.batches = batches
        self.num_batches = num_batches
        self._momentum = self._call = None

    def on_epoch_end(self, epoch, logs=None):
        self.recompute(self.model)

    def recompute(self, model):
        """Recomputes `model`'s statistics; returns the number of batches used."""
        layers = [layer for layer in batch_normalizations(model) if layer.trainable]
        if not layers or self.num_batches < 1:
            return 0
        if self._call is None:  # one momentum variable, read by one traced call
            # Not autocast: read inside a mixed_float16 layer it would become float16,
            # beside the float32 moving statistics.
            self._momentum = keras.Variable(0.0, dtype="float32", trainable=False,
                                            autocast=False, name="batch_norm_recompute_momentum")
            self._call = _training_call(model)
        saved = [(layer.momentum, layer.synchronized) for layer in layers]
        for layer in layers:
            # A variable, read when the traced call runs: the running mean of the batches
            # so far is an update with momentum used / (used + 1). Set past Keras'
            # tracking, which would add it to the layer's state (the float is put back).
            object.__setattr__(layer, "momentum", self._momentum)
            layer.synchronized = False  # one call sees the whole batch
        try:
            return self._run(self._batches())
        finally:
            for layer, (value, synchronized) in zip(layers, saved):
                layer.momentum, layer.synchronized = value, synchronized

    def _batches(self):
        if hasattr(self.batches, "take"):
            return self.batches.take(self.num_batches).as_numpy_iterator()
        return iter(self.batches)

    def _run(self, batches):
        used = 0
        for batch in batches:
            self._momentum.assign(used / (used + 1.0))
            images = batch[0] if isinstance(batch, (tuple, list)) else batch
            # Several processes: each holds its rows of the global batch, joined here.
            self._call(multi_host.global_batch(images))
            used += 1
            if used >= self.num_batches:
                break
        return used


def _training_call(model):
    """`model(images, training=True)`, traced once on TensorFlow (three times faster than
    eager there), eager on the other backends (a jitted JAX call cannot update variables)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(lambda images: model(images, training=True), reduce_retracing=True)
    return lambda images: model(images, training=True)
