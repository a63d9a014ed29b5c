import numpy as np
import pytest

from siam_keras.models import (
    build_baseline_model,
    build_siam_model,
    build_siam_model_from_preset,
    get_siam_layer,
    preset_arguments,
)
from siam_keras.saving import load_model

KEYS = {"attribute_maps", "attribute_scores", "scenicness", "scenicness_contributions",
        "scenicness_variance", "scenicness_variance_contributions"}


def test_siam_model_takes_pixels_and_returns_named_dict(tmp_path):
    model = build_siam_model(["a", "b", "c"], image_size=32, template_size=4, border_size=0,
                             initial_biases={"scenicness": 5.0})
    assert model.input.name == "image" or model.input_shape == (None, 32, 32, 3)
    out = model.predict(np.full((2, 32, 32, 3), 128.0, "float32"), verbose=0)
    assert set(out) == KEYS
    assert out["attribute_maps"].shape == (2, 8, 8, 3)
    np.testing.assert_allclose(out["scenicness"], out["scenicness_contributions"].sum(-1) + 5.0, atol=1e-5)
    assert get_siam_layer(model).attribute_names == ["a", "b", "c"]
    path = tmp_path / "m.keras"
    model.save(path)
    again = load_model(path).predict(np.full((2, 32, 32, 3), 128.0, "float32"), verbose=0)
    assert set(again) == KEYS
    np.testing.assert_array_equal(again["scenicness"], out["scenicness"])


def test_baseline_has_only_outputs_and_no_siam_layer():
    model = build_baseline_model(image_size=32, initial_biases={"scenicness": 4.0})
    out = model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0)
    assert set(out) == {"scenicness", "scenicness_variance"}
    assert out["scenicness"].shape == (2,) and out["scenicness"].dtype == np.float32
    with pytest.raises(ValueError, match="is a BaselineModel, not a SIAMModel"):
        get_siam_layer(model)


def test_paper_preset_is_the_papers_configuration():
    args = preset_arguments("siam_paper")
    assert args["backbone"] == "resnet50" and args["image_size"] == 450
    assert len(args["attribute_names"]) == 33 and args["attribute_names"][0] == "trees"
    assert (args["num_templates"], args["template_size"], args["border_size"]) == (2, 15, 2)
    assert args["output_names"] == ["scenicness", "scenicness_variance"]


@pytest.mark.slow
def test_paper_preset_builds_a_15x15_grid():
    model = build_siam_model_from_preset("siam_paper")
    assert model.output["attribute_maps"].shape == (None, 15, 15, 33)
    assert model.output["scenicness_contributions"].shape == (None, 33)


def test_unknown_preset():
    with pytest.raises(ValueError, match="Unknown preset 'paper'. Choose one of: siam_paper"):
        preset_arguments("paper")


def test_wrong_image_rank_is_refused():
    model = build_siam_model(3, image_size=32, template_size=4, border_size=0)
    with pytest.raises(ValueError, match="expected shape|incompatible|expected ndim"):
        model(np.zeros((32, 32, 3), "float32"))


def _siam(policy):
    return build_siam_model(["a", "b", "c"], ["scenicness"], image_size=32, template_size=4,
                            border_size=0, dtype_policy=policy)


def test_siam_model_passes_the_model_checks(tmp_path, rng):
    from tests.model_checks import run_model_test

    images = (rng.random((2, 32, 32, 3)) * 255).astype("float32")
    run_model_test(_siam, images, {"attribute_maps": (2, 8, 8, 3), "attribute_scores": (2, 3),
                                   "scenicness": (2,), "scenicness_contributions": (2, 3)},
                   num_weights=35, num_trainable=23, tmp_path=tmp_path)


def test_baseline_model_passes_the_model_checks(tmp_path, rng):
    from tests.model_checks import run_model_test

    images = (rng.random((2, 32, 32, 3)) * 255).astype("float32")
    run_model_test(lambda policy: build_baseline_model(["scenicness"], image_size=32,
                                                       dtype_policy=policy),
                   images, {"scenicness": (2,)}, num_weights=32, num_trainable=20,
                   tmp_path=tmp_path)


def test_siam_model_exposes_its_parts_and_names():
    from siam_keras.layers import SIAMLayer
    from siam_keras.models import SIAMModel

    model = _siam(None)
    assert isinstance(model, SIAMModel) and isinstance(model.siam_head, SIAMLayer)
    assert model.backbone.name == "small_cnn" and model.image_size == (32, 32)
    assert model.attribute_names == ("a", "b", "c") and model.named_outputs == ("scenicness",)
    assert model.feature_layer is model.siam_head


@pytest.mark.parametrize("build", [
    lambda: build_siam_model(["a", "b"], image_size=32, template_size=4, border_size=0),
    lambda: build_baseline_model(image_size=32),
], ids=["siam", "baseline"])
def test_output_names_are_the_outputs_own_so_losses_keyed_by_them_train(build, tmp_path):
    """Keras named each output by the layer that made it (['siam_head'] x 4); code that
    keys losses by `model.output_names` got one name for four outputs."""
    model = build()
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    predicted = model.predict(images, verbose=0)
    assert sorted(model.output_names) == sorted(predicted) and len(set(model.output_names)) == len(
        predicted)
    targets = {"scenicness": np.full(4, 5.0, "float32"),
               "scenicness_variance": np.ones(4, "float32")}
    model.compile("sgd", loss={name: "mse" for name in model.output_names if name in targets})
    history = model.fit(images, targets, epochs=1, verbose=0).history
    assert {"scenicness_loss", "scenicness_variance_loss"} <= set(history)
    model.save(tmp_path / "m.keras")
    assert load_model(tmp_path / "m.keras").output_names == model.output_names


@pytest.mark.slow
def test_from_preset_builds_the_paper_model():
    from siam_keras.models import SIAMModel

    model = SIAMModel.from_preset("siam_paper")
    assert model.backbone.name == "resnet50" and model.image_size == (450, 450)
    assert len(model.attribute_names) == 33 and model.attribute_names[0] == "trees"
    assert model.output["attribute_maps"].shape == (None, 15, 15, 33)


def test_models_refuse_parts_that_do_not_fit():
    import keras

    from siam_keras.models import SIAMModel

    model = _siam(None)
    with pytest.raises(TypeError, match="`siam_head` must be a SIAMLayer"):
        SIAMModel(model.backbone, keras.layers.Dense(3))
    with pytest.raises(TypeError, match="`backbone` must be a keras.Model"):
        SIAMModel("resnet50", model.siam_head)
