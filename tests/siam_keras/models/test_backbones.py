import keras
import numpy as np
import pytest

from siam_keras.models import BACKBONES, build_backbone


def test_small_cnn_has_stride_4_and_takes_pixels():
    model = build_backbone("small_cnn", 64)
    assert model.output_shape == (None, 16, 16, 64)
    out = model(np.full((2, 64, 64, 3), 255.0, "float32"))
    assert out.shape == (2, 16, 16, 64)


@pytest.mark.slow
@pytest.mark.parametrize("name", [b for b in BACKBONES if b != "small_cnn"])
def test_application_backbones_build_without_weights(name):
    model = build_backbone(name, 64)
    assert len(model.output_shape) == 4 and model.output_shape[1] == 2


def test_small_cnn_weights_file_round_trip(tmp_path):
    source = build_backbone("small_cnn", 32)
    path = tmp_path / "small.weights.h5"
    source.save_weights(path)
    loaded = build_backbone("small_cnn", 32, weights=str(path))
    x = np.random.default_rng(0).random((1, 32, 32, 3)).astype("float32") * 255
    np.testing.assert_allclose(source(x), loaded(x), atol=1e-6)


def test_unknown_backbone_lists_the_choices():
    with pytest.raises(ValueError, match="Unknown backbone 'resnet18'. Choose one of: small_cnn, resnet50"):
        build_backbone("resnet18", 64)


def test_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "nope.h5"
    with pytest.raises(FileNotFoundError, match="Backbone weights file not found: .*nope.h5"):
        build_backbone("resnet50", 64, weights=str(missing))


def test_small_cnn_has_no_imagenet_weights():
    with pytest.raises(ValueError, match="no ImageNet weights"):
        build_backbone("small_cnn", 64, weights="imagenet")


@pytest.mark.parametrize("size", [16, 0, 64.0, True])
def test_bad_image_size(size):
    with pytest.raises(ValueError, match="image_size"):
        build_backbone("small_cnn", size)


def test_weights_of_wrong_type():
    with pytest.raises(TypeError, match="backbone_weights"):
        build_backbone("small_cnn", 64, weights=3)


def test_dtype_policy_is_not_leaked():
    from siam_keras.models import build_siam_model

    before = keras.config.dtype_policy().name
    model = build_siam_model(3, image_size=32, template_size=2, border_size=0, dtype_policy="mixed_bfloat16")
    assert keras.config.dtype_policy().name == before
    assert model.get_layer("small_cnn").get_layer("stage1_conv1").compute_dtype == "bfloat16"


@pytest.mark.slow
def test_an_application_backbone_takes_the_weights_file_an_offline_machine_was_given(tmp_path):
    """docs/own-photos.md's offline recipe: a network's ImageNet weights saved once on a connected
    machine (here: random ones, `include_top=False`), then named by `model.backbone_weights`:
    the model built from the config holds exactly those weights."""
    from training.builders import siam_model_from_config
    from training.config import load_config

    keras.utils.set_random_seed(7)
    net = keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), include_top=False,
                                              weights=None, include_preprocessing=True)
    path = tmp_path / "mobilenet_v3_small_notop.weights.h5"
    net.save_weights(path)
    config = load_config(None, ["data.image_size=64", "model.backbone=mobilenet_v3_small",
                                f"model.backbone_weights='{path}'", "model.template_size=2"])
    keras.utils.set_random_seed(8)  # a model built without the file would differ
    model = siam_model_from_config(config, ["a", "b"], ["score"])
    used = model.backbone.get_layer("MobileNetV3Small")
    assert len(used.weights) == len(net.weights)
    for saved, loaded in zip(net.weights, used.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(saved),
                                      keras.ops.convert_to_numpy(loaded))


def test_a_weights_file_of_another_network_is_refused_by_name(tmp_path):
    path = tmp_path / "small.weights.h5"
    build_backbone("small_cnn", 32).save_weights(path)
    with pytest.raises(ValueError, match=r"small.weights.h5.*mobilenet_v3_small"):
        build_backbone("mobilenet_v3_small", 64, weights=str(path))
