"""`ReplicaSafeLossScaleOptimizer`: dynamic loss scaling that skips a step everywhere."""

import keras
from keras import ops

from training.replicas import num_replicas


class ReplicaSafeLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """A `LossScaleOptimizer` that skips the step on every replica when the gradients
    of any replica are not finite.

    Keras 3.15's `LossScaleOptimizer` under a TensorFlow strategy decides from the first
    replica's gradients alone (it assumes they are already summed over the replicas,
    which they are not yet). A float16 overflow on another replica is then applied, and
    the weights become NaN. Here each replica first learns, with one all-reduce of a
    scalar, whether any replica's gradients overflowed, and if so makes its own
    non-finite too, so that the check skips the step and halves the scale, as on one
    device. With one replica it is a plain `LossScaleOptimizer`.
    """

    def apply(self, grads, trainable_variables=None):
        if num_replicas() > 1:
            import tensorflow as tf

            overflowed = ops.cast(ops.logical_not(self.check_finite(grads)), "float32")
            anywhere = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, overflowed) > 0
            # One NaN is enough: check_finite looks at every gradient. Poison the first.
            first = next(i for i, g in enumerate(grads) if g is not None)
            grads = list(grads)
            grads[first] = grads[first] * ops.where(anywhere, float("nan"), 1.0)
        return super().apply(grads, trainable_variables)
