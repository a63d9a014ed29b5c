"""keras-hub backbones ("hub:<preset>") and SIAM models saved as keras-hub presets, offline:
tiny random-weight presets of three families (`tests/hub_presets.py`)."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from siam_keras.models import SIAMModel, build_backbone, build_siam_model
from siam_keras.models.hub_backbones import TokenGrid
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


def test_token_grid_drops_the_leading_tokens_and_keeps_row_order():
    tokens = np.arange(2 * (3 + 6) * 2, dtype="float32").reshape(2, 9, 2)
    grid = keras.ops.convert_to_numpy(TokenGrid(3, 2, 3)(tokens))
    assert grid.shape == (2, 2, 3, 2)
    np.testing.assert_array_equal(grid[1, 1, 0], tokens[1, 3 + 3])
    assert TokenGrid.from_config(TokenGrid(3, 2, 3).get_config()).leading == 3


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
    assert again.output_names == model.output_names
    assert again.attribute_names == model.attribute_names
    assert again.output_classes == {"terrain": ("flat", "hilly", "steep")}
    model.save_to_preset(folder)  # a preset folder is replaced whole
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="holds no preset"):
        model.save_to_preset(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="neither a named configuration"):
        SIAMModel.from_preset(str(tmp_path / "absent"))


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
    assert "ERROR A 'hub:' backbone needs keras-hub, an optional extra: pip install " \
           "'siam-keras[hub]'" in done.stdout
    assert done.returncode == 2, done.stderr[-2000:]
    assert "with --set overrides: model.backbone = 'hub:resnet_50_imagenet': A 'hub:' backbone " \
           "needs keras-hub, an optional extra: pip install 'siam-keras[hub]'" in done.stderr
    assert not (tmp_path / "run").exists()
