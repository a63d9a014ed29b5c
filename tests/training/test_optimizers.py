import keras
import numpy as np
import pytest

from training.config import load_config
from training.optimizers import PyTorchAdam, optimizer_for


def _pytorch_adam(variable, gradients, lr, epsilon, beta_1=0.9, beta_2=0.999):
    """torch.optim.Adam's update (its documented algorithm), in float64."""
    variable = variable.astype("float64").copy()
    m = np.zeros_like(variable)
    v = np.zeros_like(variable)
    for t, gradient in enumerate(gradients, start=1):
        m = beta_1 * m + (1 - beta_1) * gradient
        v = beta_2 * v + (1 - beta_2) * gradient**2
        m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
        variable -= lr * m_hat / (np.sqrt(v_hat) + epsilon)
    return variable


def _steps(optimizer, start, gradients):
    variable = keras.Variable(start)
    for gradient in gradients:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
    return keras.ops.convert_to_numpy(variable)


def test_pytorch_adam_is_torchs_update_on_template_sized_gradients(rng):
    """SIAM's template gradients are around 1e-5: there Keras' epsilon, added before the
    bias correction, is 32 times PyTorch's at the first step."""
    start = np.full((8, 8), 0.01, "float32")
    gradients = [(rng.normal(size=(8, 8)) * 1e-5).astype("float32") for _ in range(3)]
    expected = _pytorch_adam(start, gradients, lr=1e-3, epsilon=1e-8)
    ours = _steps(PyTorchAdam(1e-3, epsilon=1e-8), start, gradients)
    np.testing.assert_allclose(ours - start, expected - start, rtol=1e-4, atol=1e-9)
    keras_adam = _steps(keras.optimizers.Adam(1e-3, epsilon=1e-8), start, gradients)
    moved = np.abs(keras_adam - expected) > 1e-6
    assert moved.mean() > 0.1  # the test tells the two apart


def test_the_config_chooses_the_optimizer_and_its_epsilon():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    default = optimizer_for(model, load_config(None).train, 10)
    assert type(default) is keras.optimizers.Adam and default.epsilon == pytest.approx(1e-7)
    paper = load_config("training/configs/sun_son_resnet50.toml").train
    assert (paper.optimizer, paper.adam_epsilon) == ("pytorch_adam", 1e-8)
    optimizer = optimizer_for(model, paper, 10)
    assert type(optimizer) is PyTorchAdam and optimizer.epsilon == pytest.approx(1e-8)


def test_pytorch_adam_serialises_and_refuses_amsgrad():
    optimizer = PyTorchAdam(1e-3, epsilon=1e-8)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(again) is PyTorchAdam and again.epsilon == pytest.approx(1e-8)
    with pytest.raises(ValueError, match="AMSGrad"):
        PyTorchAdam(amsgrad=True)
