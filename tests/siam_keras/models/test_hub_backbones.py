"""keras-hub backbones ("hub:<preset>") and SIAM models saved as keras-hub presets, offline:
tiny random-weight presets of three families (`tests/hub_presets.py`)."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from siam_keras.models import SIAMModel, build_backbone, build_siam_model
from siam_keras.models.image_preprocessing import ImagePreprocessing
from tests.hub_presets import FAMILIES, OFFSET, SCALE, write_preset

#: The grid each tiny preset gives at 64 px, and the tokens before its patches.
GRID = {"resnet": (16, 0), "vit": (8, 1), "dinov2": (8, 3)}


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("presets")
    return {family: write_preset(family, folder / family) for family in FAMILIES}


def _pixels(count=2, size=64, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (count, size, size, 3)).astype("float32")


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_gives_its_patch_grid_from_0_255_pixels(family, presets):
    """The preset's converter runs inside the model; a ViT's class and register tokens
    are dropped and its patches laid out row by row."""
    import keras_hub

    side, leading = GRID[family]
    backbone = build_backbone(f"hub:{presets[family]}", 64, "preset")
    assert backbone.output_shape[1:3] == (side, side)
    preprocessing = next(layer for layer in backbone.layers
                         if isinstance(layer, ImagePreprocessing))
    assert preprocessing.mode == "affine"
    np.testing.assert_allclose(preprocessing.scale, SCALE)
    np.testing.assert_allclose(preprocessing.offset, OFFSET)

    pixels = _pixels()
    network = keras_hub.models.Backbone.from_preset(str(presets[family]))
    inputs = pixels * np.float32(SCALE) + np.float32(OFFSET)
    raw = keras.ops.convert_to_numpy(network.predict(inputs, verbose=0))
    if leading or raw.ndim == 3:
        raw = raw[:, leading:].reshape(len(raw), side, side, -1)
    np.testing.assert_allclose(backbone.predict(pixels, verbose=0), raw, rtol=1e-4, atol=1e-4)


def test_backbone_weights_preset_random_or_a_file(presets, tmp_path):
    name = f"hub:{presets['resnet']}"
    pixels = _pixels()
    preset = build_backbone(name, 64, "preset").predict(pixels, verbose=0)
    random = build_backbone(name, 64, None).predict(pixels, verbose=0)
    assert not np.allclose(preset, random)
    import keras_hub

    network = keras_hub.models.Backbone.from_preset(str(presets["resnet"]))
    network.save_weights(tmp_path / "resnet.weights.h5")
    from_file = build_backbone(name, 64, str(tmp_path / "resnet.weights.h5"))
    np.testing.assert_allclose(from_file.predict(pixels, verbose=0), preset, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="takes the weights its preset holds: backbone_weights "
                                         "= 'preset'"):
        build_backbone(name, 64, "imagenet")
    with pytest.raises(ValueError, match=r"into the hub:\S+vit backbone"):
        build_backbone(f"hub:{presets['vit']}", 64, str(tmp_path / "resnet.weights.h5"))
    with pytest.raises(FileNotFoundError, match="keras-hub preset folder not found"):
        build_backbone(f"hub:{tmp_path / 'nowhere'}", 64)
    with pytest.raises(ValueError, match="names its keras-hub preset"):
        build_backbone("hub:", 64)
    with pytest.raises(ValueError, match=r"vit' cannot be built at 60 px \(data.image_size\): "
                                         "Input height 60 should be divisible by patch size 8"):
        build_backbone(f"hub:{presets['vit']}", 60, "preset")


def test_a_preset_without_a_converter_gets_pixels_unchanged(tmp_path):
    folder = write_preset("resnet", tmp_path / "bare", converter=False)
    backbone = build_backbone(f"hub:{folder}", 64)
    modes = [layer.mode for layer in backbone.layers if isinstance(layer, ImagePreprocessing)]
    assert modes == ["none"]
    import keras_hub

    keras_hub.layers.ResNetImageConverter(image_size=(64, 64)).save_to_preset(str(folder))
    backbone = build_backbone(f"hub:{folder}", 64)  # a converter that only resizes
    layer = next(layer for layer in backbone.layers if isinstance(layer, ImagePreprocessing))
    assert (layer.mode, layer.scale, layer.offset) == ("affine", None, None)
    pixels = _pixels()
    np.testing.assert_allclose(layer(pixels), pixels)


def test_a_frozen_hub_backbone_keeps_its_weights(presets):
    model = build_siam_model(["a", "b"], image_size=64, backbone=f"hub:{presets['vit']}",
                             backbone_weights="preset", template_size=4, border_size=0)
    model.backbone.trainable = False
    before = [keras.ops.convert_to_numpy(w) for w in model.backbone.weights]
    model.compile("sgd", loss={"scenicness": "mse"})
    model.fit(_pixels(4), {"scenicness": np.arange(4, dtype="float32")}, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in model.backbone.weights]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert model.siam_head.trainable_weights


def test_a_saved_preset_loads_back_with_identical_outputs_names_and_classes(presets, tmp_path):
    classes = {"kind": "classification", "classes": ["flat", "hilly", "steep"]}
    model = build_siam_model(["a", "b", "c"], ("scenicness", "terrain"), image_size=64,
                             backbone=f"hub:{presets['dinov2']}", backbone_weights="preset",
                             template_size=4, border_size=0, output_kinds={"terrain": classes})
    folder = model.save_to_preset(tmp_path / "siam_preset")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "metadata.json",
                                                        "model.weights.h5"]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["siam_model"]["head"]["terrain"]["classes"] == classes["classes"]
    assert metadata["parameter_count"] == model.count_params()
    again = SIAMModel.from_preset(str(folder))
    pixels = _pixels(3)
    expected, got = model.predict(pixels, verbose=0), again.predict(pixels, verbose=0)
    assert set(got) == set(expected)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])
    assert again.output_names == ["attribute_maps", "attribute_scores", "scenicness",
                                  "scenicness_contributions", "terrain", "terrain_contributions"]
    assert again.attribute_names == ("a", "b", "c")
    assert again.output_classes == {"terrain": ("flat", "hilly", "steep")}
    assert SIAMModel.from_preset(folder).name == model.name  # a Path too
    (folder / "stray.txt").write_text("old")
    model.save_to_preset(folder)  # a SIAM preset folder is replaced whole
    assert not (folder / "stray.txt").exists()
    with pytest.raises(FileExistsError, match="not a SIAM preset"):
        model.save_to_preset(presets["dinov2"])  # a keras-hub backbone preset is kept
    with pytest.raises(ValueError, match="holds a keras_hub>DINOV2Backbone model, not a SIAM "
                                         "model. A keras-hub backbone preset is used as "
                                         "model.backbone"):
        SIAMModel.from_preset(presets["dinov2"])
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="holds files that are not a SIAM preset"):
        model.save_to_preset(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(FileNotFoundError, match="Preset folder not found"):
        SIAMModel.from_preset(str(tmp_path / "absent"))
    with pytest.raises(ValueError, match="neither a named configuration"):
        SIAMModel.from_preset("siam_paper_v2")


def test_trained_dinov2_position_embeddings_survive_saving(presets, tmp_path):
    """keras-hub re-interpolates trained DINOv2 position embeddings to the preset's size
    when saving (lossy): they stay as the preset's, and the saved model is the trained one."""
    from siam_keras.saving import load_model

    model = build_siam_model(["a", "b"], image_size=64, backbone=f"hub:{presets['dinov2']}",
                             backbone_weights="preset", template_size=4, border_size=0)
    model.compile(keras.optimizers.SGD(0.5), loss={"scenicness": "mse"})
    model.fit(_pixels(4), {"scenicness": np.arange(4, dtype="float32") * 10}, epochs=2,
              verbose=0)
    model.save(tmp_path / "trained.keras")
    pixels = _pixels(3, seed=1)
    expected = model.predict(pixels, verbose=0)
    again = load_model(tmp_path / "trained.keras").predict(pixels, verbose=0)
    for key in expected:
        np.testing.assert_allclose(again[key], expected[key], rtol=1e-5, atol=1e-6)


def test_a_fresh_process_loads_a_hub_model_and_a_compiled_models_preset(presets, tmp_path):
    """Nothing imported beforehand: the .keras file's keras-hub classes are found, and a
    preset saved from a compiled, trained model loads without its optimizer."""
    model = build_siam_model(["a", "b"], image_size=64, backbone=f"hub:{presets['vit']}",
                             backbone_weights="preset", template_size=4, border_size=0)
    model.compile("adam", loss={"scenicness": "mse"})
    model.fit(_pixels(4), {"scenicness": np.arange(4, dtype="float32")}, verbose=0)
    model.save(tmp_path / "vit.keras")
    model.save_to_preset(tmp_path / "vit_preset")
    np.save(tmp_path / "expected.npy", model.predict(_pixels(2), verbose=0)["scenicness"])
    script = f"""
import sys
import numpy as np
from siam_keras.models import SIAMModel
from siam_keras.saving import load_model
assert "keras_hub" not in sys.modules
pixels = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
expected = np.load({str(tmp_path / 'expected.npy')!r})
for model in (load_model({str(tmp_path / 'vit.keras')!r}),
              SIAMModel.from_preset({str(tmp_path / 'vit_preset')!r})):
    np.testing.assert_array_equal(model.predict(pixels, verbose=0)["scenicness"], expected)
    print("LOADED", getattr(model, "optimizer", None) is None)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.count("LOADED True") == 2, done.stderr[-3000:]


def test_without_keras_hub_everything_else_works_and_hub_names_say_how_to_install(tmp_path):
    """keras-hub blocked in a fresh process: a small_cnn model builds, a hub backbone and
    siam-train name the extra to install, before anything is written."""
    script = f"""
import sys
sys.modules["keras_hub"] = None  # as if not installed
from siam_keras.models import build_backbone, build_siam_model
build_siam_model(["a"], image_size=32, template_size=4)
try:
    build_backbone("hub:resnet_50_imagenet", 64)
except ImportError as error:
    print("ERROR", error)
from training.cli import main
sys.exit(main(["--config", "demo", "--out", {str(tmp_path / 'run')!r}, "--set",
               'model.backbone="hub:resnet_50_imagenet"', "data.image_size=32",
               "model.template_size=4", "data.synthetic_scenes.num_train=8"]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert "ERROR The backbone 'hub:resnet_50_imagenet' needs keras-hub: keras-hub is not " \
           "installed; it is an optional extra: pip install 'siam-keras[hub]'" in done.stdout
    assert done.returncode == 2, done.stderr[-2000:]
    assert "with --set overrides: model.backbone = 'hub:resnet_50_imagenet': keras-hub is not " \
           "installed; it is an optional extra: pip install 'siam-keras[hub]'" in done.stderr
    assert not (tmp_path / "run").exists()


def test_siam_train_refuses_a_missing_preset_folder_before_writing(tmp_path, capsys):
    from training.cli import main

    assert main(["--config", "demo", "--out", str(tmp_path / "run"), "--set",
                 f'model.backbone="hub:{tmp_path / "no_preset"}"']) == 2
    assert "model.backbone: keras-hub preset folder not found" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
