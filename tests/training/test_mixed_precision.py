"""Mixed precision as the paper's GPU run uses it: float16 compute, with loss scaling."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from siam_keras.models import build_baseline_model, build_siam_model
from tests.conftest import _randomise_head
from tests.dataset_fixtures import write_son_fixture, write_sun_fixture
from training.cli import main
from training.config import load_config
from training.optimizers import optimizer_for


def _first_kernel(model):
    return next(w for w in model.trainable_weights if "stage1_conv1" in w.path)


def test_an_underflowing_float16_gradient_is_recovered_by_loss_scaling(rng):
    """A loss of 1e-6 x the output: its gradient reaches the first convolution through
    float16 activations, where it underflows to exactly 0; scaled by the loss scale
    (2^15) it survives and, unscaled again, matches float32's."""
    mixed = build_siam_model(["a", "b", "c"], ["scenicness"], image_size=32, template_size=4,
                             border_size=0, dtype_policy="mixed_float16")
    _randomise_head(mixed, 0)  # at initialisation the two templates' effects cancel exactly
    reference = build_siam_model(["a", "b", "c"], ["scenicness"], image_size=32, template_size=4,
                                 border_size=0)
    reference.set_weights(mixed.get_weights())
    images = (rng.random((2, 32, 32, 3)) * 255).astype("float32")

    def gradient(model, scale=1.0):
        kernel = _first_kernel(model)
        with tf.GradientTape() as tape:
            loss = 1e-6 * tf.reduce_sum(model(images, training=False)["scenicness"])
            scaled = loss * scale
        return tape.gradient(scaled, kernel).numpy() / scale

    optimizer = optimizer_for(mixed, load_config(None).train, 10)
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    optimizer.build(mixed.trainable_variables)
    scale = float(optimizer.dynamic_scale.numpy())
    assert scale == 2.0**15
    expected = gradient(reference)
    assert np.abs(expected).max() > 0
    assert (gradient(mixed) == 0).all()  # underflow: the backbone would never learn
    recovered = gradient(mixed, scale)
    assert np.abs(recovered).max() > 0
    np.testing.assert_allclose(recovered, expected, rtol=0.05, atol=0.05 * np.abs(expected).max())


@pytest.mark.parametrize("build", [
    lambda: build_siam_model(["a", "b"], ["scenicness"], image_size=32, template_size=4,
                             border_size=0, dtype_policy="mixed_float16"),
    lambda: build_baseline_model(["scenicness"], image_size=32, dtype_policy="mixed_float16"),
])
def test_models_built_mixed_are_mixed_and_compile_a_loss_scale_optimizer(build, rng):
    model = build()
    assert model.dtype_policy.name == "mixed_float16"
    model.compile(keras.optimizers.Adam(1e-3), loss={"scenicness": "mse"})
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    images = (rng.random((4, 32, 32, 3)) * 255).astype("float32")
    kernel = _first_kernel(model)
    before = kernel.numpy().copy()
    # Tiny targets' error: every gradient in the float16 backbone underflows unscaled.
    model.fit(images, {"scenicness": np.full(4, 1e-4, "float32")}, epochs=5, verbose=0)
    inner = model.optimizer.inner_optimizer
    assert int(inner.iterations.numpy()) == 5  # no step skipped
    assert float(model.optimizer.dynamic_scale.numpy()) >= 2.0**14  # the scale did not collapse
    assert not np.array_equal(kernel.numpy(), before)


SHRUNK = ["data.image_size=32", "data.synthetic_scenes.num_train=32", "data.synthetic_scenes.num_validation=16", "data.synthetic_scenes.num_test=16",
          "data.synthetic_scenes.truth_template_size=4", "model.template_size=4", "train.epochs=1",
          "train.batch_size=16", "train.lr_decay_epochs=[]", "baseline.epochs=1",
          "train.mixed_precision=true", "train.min_steps_per_epoch=1"]


@pytest.mark.slow
def test_every_training_path_compiles_a_loss_scale_optimizer(tmp_path, capsys):
    """Synthetic SIAM and baseline; two datasets with the attribute stage, the paper's
    weighting (its own model class) and the baseline."""
    assert main(["--keep-unhealthy", "--config", "training/configs/demo.toml", "--out", str(tmp_path / "synthetic"),
                 "--set", *SHRUNK]) == 0
    synthetic = capsys.readouterr().out
    write_sun_fixture(tmp_path / "sun")
    write_son_fixture(tmp_path / "son", with_id=False)
    assert main(["--keep-unhealthy", "--config", "training/configs/sun_son_resnet50.toml", "--out",
                 str(tmp_path / "paper"), "--set", f"data.sun_scenic_or_not.sun_manual_dir={tmp_path / 'sun'}",
                 f"data.sun_scenic_or_not.son_manual_dir={tmp_path / 'son'}", f"data.sun_scenic_or_not.tfds_data_dir={tmp_path / 'tfds'}",
                 "data.image_size=32", "model.backbone=small_cnn", 'model.backbone_weights=""',
                 "model.template_size=4", "model.border_size=1", "train.epochs=1",
                 "train.steps_per_epoch=2", "train.batch_size=4", "train.attribute_epochs=1",
                 "train.mixed_precision=true", "baseline.epochs=1"]) == 0
    paper = capsys.readouterr().out
    line = "mixed_float16 compute, optimizer LossScaleOptimizer"
    assert synthetic.count(line) == 2  # SIAM, baseline
    assert paper.count(line) == 3  # attribute stage, joint stage (paper weighting), baseline
    assert "optimizer Adam" not in synthetic + paper
