"""The optimizer a config trains with: Keras' Adam, or PyTorch's (the authors' numerics;
`train.optimizer`'s choices are `training.config_schema.OPTIMIZERS`), on the learning-rate
schedule, loss-scaled under float16. No TensorFlow: the GPU benchmark builds it on JAX."""

import keras
from keras import ops

from siam_keras.models.dtype_policy import model_policy
from training.loss_scaling import ReplicaSafeLossScaleOptimizer
from training.replicas import num_replicas


@keras.saving.register_keras_serializable(package="siam_training")
class PyTorchAdam(keras.optimizers.Adam):
    """Adam as `torch.optim.Adam` computes it: epsilon added after bias correction.

    Keras' Adam adds epsilon to sqrt(v) before the bias correction, which makes its
    epsilon worth epsilon / sqrt(1 - beta_2^t) in PyTorch's terms: 32 times larger at
    the first step, 1.0 times after a few thousand. With template gradients around 1e-5
    (SIAM's spatial templates) the first steps differ in most entries. This update is

        m_hat = m / (1 - beta_1^t),  v_hat = v / (1 - beta_2^t),
        variable -= lr * m_hat / (sqrt(v_hat) + epsilon)

    with m and v updated as in Keras (and PyTorch). AMSGrad is not offered.
    """

    def __init__(self, *args, amsgrad=False, **kwargs):
        if amsgrad:
            raise ValueError("PyTorchAdam does not offer AMSGrad. Received: amsgrad=True")
        super().__init__(*args, amsgrad=False, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        step = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        denominator = ops.add(ops.divide(ops.sqrt(v), ops.sqrt(1 - beta_2_power)), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / (1 - beta_1_power)), denominator))


def adam(train_config, learning_rate):
    """The Adam of `train.optimizer` with `train.adam_epsilon`, on `learning_rate`."""
    if train_config.optimizer == "pytorch_adam":
        return PyTorchAdam(learning_rate, epsilon=train_config.adam_epsilon)
    return keras.optimizers.Adam(learning_rate, epsilon=train_config.adam_epsilon)


def learning_rate_schedule(train_config, steps_per_epoch):
    """Adam's rate, divided by `lr_decay_factor` after each epoch in `lr_decay_epochs`."""
    boundaries = [e * steps_per_epoch for e in sorted(train_config.lr_decay_epochs) if e > 0]
    if not boundaries:
        return train_config.learning_rate
    values = [train_config.learning_rate / train_config.lr_decay_factor**i
              for i in range(len(boundaries) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def optimizer_for(model, train_config, steps_per_epoch):
    """Adam (`train.optimizer`, `train.adam_epsilon`) on the schedule, wrapped in a
    `LossScaleOptimizer` when the model computes in float16: its gradients underflow
    unscaled. Decided from the layers' policies, so it holds for wrapped and reloaded
    models too, whose own policy may read float32."""
    optimizer = adam(train_config, learning_rate_schedule(train_config, steps_per_epoch))
    if model_policy(model) == "mixed_float16":
        # Under several replicas Keras' own checks the first replica's gradients only.
        wrapper = (ReplicaSafeLossScaleOptimizer if num_replicas() > 1
                   else keras.optimizers.LossScaleOptimizer)
        optimizer = wrapper(optimizer)
    return optimizer
