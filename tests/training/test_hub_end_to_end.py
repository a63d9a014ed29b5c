"""A keras-hub backbone of each family, end to end and offline: siam-train on a tiny local
preset (writing the run's own preset), siam explain on real photos, siam-export (SavedModel,
float32 and int8 TFLite with builtin ops) and siam-edge; the CNN also learns *where*
(pointing game on the demo's scenes)."""

import json

import numpy as np
import pytest

from tests.hub_presets import FAMILIES, write_preset
from tests.real_photos import real_photos

pytestmark = pytest.mark.slow

#: The demo config shrunk: enough steps for the CNN to learn where, few for the others.
TRAIN = {
    "resnet": ["data.synthetic_scenes.num_train=640", "train.epochs=2",
               "train.lr_decay_epochs=[]"],
    "vit": ["data.synthetic_scenes.num_train=64", "train.epochs=1", "train.min_steps_per_epoch=4",
            "train.lr_decay_epochs=[]", "train.batch_norm_batches=2"],
    "dinov2": ["data.synthetic_scenes.num_train=64", "train.epochs=1",
               "train.min_steps_per_epoch=4", "train.lr_decay_epochs=[]",
               "train.batch_norm_batches=2"],
}


@pytest.fixture(scope="module", params=FAMILIES)
def hub_run(request, tmp_path_factory):
    """(family, run folder): the demo config on the family's tiny preset, at the demo's size."""
    from training.cli import main

    family = request.param
    folder = tmp_path_factory.mktemp(f"hub_{family}")
    preset = write_preset(family, folder / "preset_in")
    run = folder / "run"
    assert main(["--config", "demo", "--out", str(run), "--keep-unhealthy", "--set",
                 f'model.backbone="hub:{preset}"', 'model.backbone_weights="preset"',
                 "data.synthetic_scenes.num_validation=64", "data.synthetic_scenes.num_test=64",
                 "baseline.enabled=false", "train.save_preset=true", *TRAIN[family]]) == 0
    return family, run


def test_train_explain_export_and_edge_agree(hub_run, tmp_path):
    from export.cli import main as export
    from siam_keras.cli import main as siam
    from siam_keras.edge import EdgeExplainer
    from siam_keras.edge.cli import main as edge
    from siam_keras.models import SIAMModel
    from siam_keras.runtime.images import read_photo, resize_for_model
    from siam_keras.saving import load_model

    family, run = hub_run
    photos = real_photos()[:3]
    model = load_model(run / "model.keras")
    assert model.backbone.name == "hub_backbone"

    # The run's preset is the kept model.
    preset = SIAMModel.from_preset(str(run / "preset"))
    pixels = np.stack([resize_for_model(read_photo(p).pixels, 64) for p in photos])
    pixels = pixels.astype("float32")
    expected = model.predict(pixels, verbose=0)
    for key, value in preset.predict(pixels, verbose=0).items():
        np.testing.assert_array_equal(value, expected[key])

    assert siam(["explain", *map(str, photos), "--model", str(run / "model.keras"), "--out",
                 str(tmp_path / "explained")]) == 0
    record = json.loads((tmp_path / "explained" / f"{photos[0].stem}.json").read_text())
    assert record["outputs"]["scenicness"]["value"] == pytest.approx(
        float(expected["scenicness"][0]), abs=1e-4)

    out = tmp_path / "export"
    assert export(["--model", str(run / "model.keras"), "--out", str(out), "--tflite",
                   "float32,int8", "--calibration-images", "16", "--holdout-images", "8",
                   "--latency-runs", "2"]) == 0
    assert (out / "saved_model" / "1" / "saved_model.pb").is_file()
    sidecar = json.loads((out / "tflite" / "siam_model.json").read_text())
    metadata = json.loads((run / "preset" / "metadata.json").read_text())
    assert metadata["siam_model"] == {key: sidecar[key] for key in metadata["siam_model"]}
    fidelity = json.loads((out / "fidelity.json").read_text())
    for variant in ("float32", "int8"):  # the on-device explanations add up exactly
        assert fidelity["variants"][variant]["explanation_residual"] < 1e-4, variant
    on_device = EdgeExplainer(out / "tflite" / "model_float32.tflite")(pixels)
    np.testing.assert_allclose(on_device.output("scenicness").value, expected["scenicness"],
                               rtol=1e-4, atol=1e-4)
    assert edge(["explain", "--model", str(out / "tflite" / "model_int8.tflite"),
                 *map(str, photos), "--out", str(tmp_path / "edge")]) == 0
    assert (tmp_path / "edge" / f"{photos[0].stem}.json").is_file()


@pytest.mark.parametrize("hub_run", ["resnet"], indirect=True)
def test_the_cnn_learns_where_the_attributes_are(hub_run):
    """Pointing game of SIAM's maps on 64 of the demo's test scenes, at the demo's size (the
    ViT presets train 4 steps: too few to learn where)."""
    _, run = hub_run
    from siam_keras.data import SyntheticScenes
    from siam_keras.evaluation.explanation_ground_truth import evaluate_explanations
    from siam_keras.saving import load_model

    scenes = SyntheticScenes(image_size=64, template_size=8)
    report = evaluate_explanations(load_model(run / "model.keras"), scenes.generate("test", 64),
                                   scenes.weights, library_method=False, deletion_steps=2,
                                   log=lambda *a: None)
    assert report["siam"]["pointing_game"] >= 0.8, report["siam"]["pointing_game"]
