"""The export's test vectors, checked by the Python edge runtime (each variant)."""

import json
import shutil

import numpy as np
import pytest

from siam_keras.edge import test_vectors as vectors


def test_every_variant_passes_its_test_vectors(tiny_export):
    folder = tiny_export / "tflite" / vectors.FOLDER
    data = vectors.load(folder)
    assert len(data["images"]) == vectors.DEFAULT_COUNT
    assert set(data["variants"]) == {"float32", "float16", "dynamic", "int8"}
    for entry in data["images"]:
        assert vectors.read_pixels(folder / entry["file"]).shape == (32, 32, 3)
    keys = set(data["variants"]["int8"]["expected"][0])
    assert {"attribute_maps", "scenicness", "scenicness_contributions",
            "spatial_contributions/scenicness"} <= keys
    report = vectors.check(folder)
    assert all(entry["passed"] for entry in report.values()), report


def test_a_wrong_expectation_or_model_fails_the_check(tiny_export, tmp_path, capsys):
    from siam_keras.edge.cli import main

    folder = tmp_path / "tflite"
    shutil.copytree(tiny_export / "tflite", folder)
    path = folder / vectors.FOLDER / vectors.FILE
    data = json.loads(path.read_text())
    tolerance = data["variants"]["float32"]["tolerance"]
    data["variants"]["float32"]["expected"][3]["scenicness"][0] += 3 * tolerance * max(
        1.0, abs(data["variants"]["float32"]["expected"][3]["scenicness"][0]))
    path.write_text(json.dumps(data))
    report = vectors.check(folder / vectors.FOLDER, variants=["float32", "int8"])
    assert not report["float32"]["passed"] and report["int8"]["passed"]
    assert max(report["float32"]["errors"], key=report["float32"]["errors"].get) == "scenicness"
    assert main(["check", str(folder / vectors.FOLDER)]) == 1
    assert "FAILED: scenicness" in capsys.readouterr().out
    # Another variant's file under this name is refused by its digest, unrun.
    shutil.copyfile(folder / "model_int8.tflite", folder / "model_float32.tflite")
    with pytest.raises(ValueError, match="is the int8 model, not float32"):
        vectors.check(folder / vectors.FOLDER, variants=["float32"])


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["variants"]["int8"].update(expected=[]), "variants.int8.expected needs at least 1"),
    (lambda d: d["variants"]["int8"]["expected"][1].pop("scenicness_contributions"),
     "lacks the expected scenicness_contributions"),
    (lambda d: d["variants"]["int8"].pop("tolerance"), "variants.int8 lacks .tolerance."),
    (lambda d: d.pop("images"), "'images'"),
])
def test_incomplete_test_vectors_are_refused_not_passed(tiny_export, tmp_path, edit, message):
    folder = tmp_path / "tflite"
    shutil.copytree(tiny_export / "tflite", folder)
    path = folder / vectors.FOLDER / vectors.FILE
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message):
        vectors.check(folder / vectors.FOLDER, variants=["int8"])


def test_a_nan_never_passes():
    assert vectors.relative_error([np.nan, 1.0], [0.0, 1.0]) == float("inf")
    assert vectors.relative_error([1.0], [1.0, 2.0]) == float("inf")
    assert vectors.relative_error([1.0, 2.5], [1.0, 2.0]) == pytest.approx(0.25)


def test_edge_intervene_equals_the_keras_explainers(tiny_export, tiny_siam, tiny_scenes):
    from siam_keras.edge import EdgeExplainer
    from siam_keras.explanations import SIAMExplainer

    images = tiny_scenes["image"][:4]
    h, w = EdgeExplainer(tiny_export / "tflite" / "model_float32.tflite").sidecar.feature_grid
    factors = {"trees": 0.0, "sky": np.where(np.arange(w) < w // 2, 2.0, 0.5)[None, None, :]
               * np.ones((4, h, 1))}
    edge = EdgeExplainer(tiny_export / "tflite" / "model_float32.tflite").intervene(images, factors)
    keras = SIAMExplainer(tiny_siam).intervene(images, factors)
    for name in keras.output_change:
        scale = max(1.0, float(np.abs(keras.counterfactual_outputs[name]).max()))
        np.testing.assert_allclose(edge.counterfactual_outputs[name],
                                   keras.counterfactual_outputs[name], atol=1e-4 * scale)
        np.testing.assert_allclose(edge.counterfactual_contributions[name],
                                   keras.counterfactual_contributions[name], atol=1e-4 * scale)
        assert np.abs(keras.output_change[name]).max() > 1e-3
