import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_the_attribute_stage_leaves_the_output_head_as_it_was(tmp_path):
    """The output head is unused while the attributes train alone: the template and
    contribution penalties must not shrink its templates to zero (where the ReLU passes no
    gradient, so the outputs could never train afterwards)."""
    from siam_keras.layers.siam_layer import DEFAULT_TEMPLATE_INIT
    from siam_keras.saving import load_model
    from training.config import load_config
    from training.run import run

    config = load_config(None, [
        "data.image_size=32", "model.template_size=4", "data.synthetic_scenes.num_train=64",
        "data.synthetic_scenes.num_validation=16", "data.synthetic_scenes.num_test=16",
        "data.synthetic_scenes.truth_template_size=4", "train.batch_size=16",
        "train.attribute_epochs=2", "train.epochs=1", "train.lr_decay_epochs=[]",
        "train.template_l1=1.0", "train.contribution_l1=1.0", "train.learning_rate=0.05",
        "baseline.enabled=false", "train.min_steps_per_epoch=1"])
    run(config, tmp_path, log=lambda *_: None, keep_unhealthy=True)
    head = load_model(tmp_path / "attribute_stage" / "model.keras").siam_head
    for name in head.output_names:
        np.testing.assert_array_equal(np.asarray(head.templates[name]), np.float32(DEFAULT_TEMPLATE_INIT))
    final = load_model(tmp_path / "model.keras").siam_head
    assert not np.allclose(np.asarray(final.templates["scenicness"]), DEFAULT_TEMPLATE_INIT)
