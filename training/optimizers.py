"""The optimizer a config trains with: Keras' Adam, or PyTorch's (the authors' numerics;
`train.optimizer`'s choices are `training.config_schema.OPTIMIZERS`)."""

import keras
from keras import ops


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
