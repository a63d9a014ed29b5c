"""Keras 3.15 under a TensorFlow strategy of several replicas (`"mirrored"`): what
`model.fit` and friends get wrong there, and the fix each needs. Outside such a
strategy (one device, the JAX backend) every function here changes nothing.
"""

import contextlib

import keras
import numpy as np

from siam_keras.models.nested_layers import nested_layers


def num_replicas():
    """The replicas of the current `tf.distribute` strategy (1 off TensorFlow)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def batch_normalizations(model):
    """The `BatchNormalization` layers of `model`, nested ones included."""
    return [layer for layer in nested_layers(model)
            if isinstance(layer, keras.layers.BatchNormalization)]


@contextlib.contextmanager
def global_batch_statistics(model):
    """Inside, under a TensorFlow strategy of several replicas, `model`'s batch
    normalisation layers take their statistics over the global batch (Keras'
    `synchronized=True`) instead of each replica's slice; restored on exit, so the
    model saved afterwards loads on every backend (the JAX backend refuses
    `synchronized=True`). Elsewhere (one device, JAX) it changes nothing."""
    layers = []
    if num_replicas() > 1:
        layers = [layer for layer in batch_normalizations(model) if not layer.synchronized]
    for layer in layers:
        layer.synchronized = True
    try:
        yield
    finally:
        for layer in layers:
            layer.synchronized = False


def predict_batch(model, images):
    """`model.predict_on_batch(images)`, also under a TensorFlow strategy of R replicas,
    where Keras 3.15 runs the whole batch on every replica and returns R copies of the
    outputs, and a replica given no image fails: there the batch is padded (its last
    image repeated) to a multiple of R, split by `model.predict`, and cut back."""
    replicas = num_replicas()
    if replicas == 1:
        return model.predict_on_batch(images)
    images = np.asarray(images)
    count = len(images)
    padded = np.concatenate([images, np.repeat(images[-1:], -count % replicas, axis=0)])
    outputs = model.predict(padded, batch_size=len(padded), verbose=0)
    return {key: value[:count] for key, value in outputs.items()}


class ReplicaSafeModel(keras.Model):
    """The functional model `fit_stage` trains (`rewrapped` over a model's layers): a
    `keras.Model` whose `losses` are only those of the replica computing them.

    Under `MirroredStrategy` every replica runs the model in its own thread, and Keras
    keeps the losses that layers add (`add_loss`: SIAM's contribution L1) in one list
    per layer. Synchronised batch normalisation switches threads in the middle of the
    forward pass, so a replica can find another replica's penalty in that list as well
    as its own. Its gradient is not affected (each replica's tape sees its own
    operations), but the logged loss counts the penalty twice. Each replica's tensors
    are placed on its own device: the losses placed on another device are left out.
    """

    @property
    def losses(self):
        return replica_losses(super().losses)


def replica_losses(losses):
    """`losses` without those placed on another replica's device (all of them outside
    a TensorFlow strategy of several replicas)."""
    if num_replicas() == 1:
        return losses
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    context = tf.distribute.get_replica_context()
    if context is None:
        return losses
    replica = tf.get_static_value(context.replica_id_in_sync_group)
    if replica is None:
        return losses
    device = tf.DeviceSpec.from_string(strategy.extended.worker_devices[int(replica)])
    return [loss for loss in losses
            if not getattr(loss, "device", "") or tf.DeviceSpec.from_string(loss.device) == device]
