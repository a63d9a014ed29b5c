"""One `--model` rule: `siam explain`, `siam evaluate` and `siam score` take the same kinds
of model file (`.keras`, a SavedModel version folder, a `.tflite` with its sidecar) and
refuse the same wrong ones with the same words."""

import json
import shutil

import numpy as np
import pytest

from siam_keras.cli import main
from tests.real_photos import real_photos

pytestmark = pytest.mark.slow


def exported_kinds(tiny_models, tiny_export):
    return {"keras": tiny_models[0], "saved_model": tiny_export / "saved_model" / "1",
            "tflite": tiny_export / "tflite" / "model_float32.tflite"}


def test_explain_takes_every_model_kind_and_explains_alike(tiny_models, tiny_export, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in real_photos()[:3]:
        shutil.copy(path, photos / path.name)
    records = {}
    for kind, model in exported_kinds(tiny_models, tiny_export).items():
        out = tmp_path / kind
        code = main(["explain", str(photos), "--model", str(model), "--out", str(out),
                     "--figures", "none", "--table", str(out / "table.csv")])
        assert code == 0, kind
        records[kind] = {path.name: json.loads(path.read_text(encoding="utf-8"))
                         for path in out.glob("*.json") if path.name != "summary.json"}
    assert len(records["keras"]) == 3
    for kind in ("saved_model", "tflite"):
        assert records[kind].keys() == records["keras"].keys()
        for name, theirs in records["keras"].items():
            ours = records[kind][name]
            for output, entry in theirs["outputs"].items():
                assert ours["outputs"][output]["value"] == pytest.approx(entry["value"], abs=1e-4)
            assert ours["attribute_scores"].keys() == theirs["attribute_scores"].keys()
            np.testing.assert_allclose(list(ours["attribute_scores"].values()),
                                       list(theirs["attribute_scores"].values()), atol=1e-4)


def test_evaluate_takes_every_model_kind_and_scores_alike(tiny_models, tiny_export, tmp_path):
    reports = {}
    for kind, model in exported_kinds(tiny_models, tiny_export).items():
        out = tmp_path / f"{kind}.json"
        assert main(["evaluate", "--model", str(model), "--out", str(out),
                     "--num-images", "24"]) == 0, kind
        reports[kind] = json.loads(out.read_text(encoding="utf-8"))
    keras = reports["keras"]
    for kind in ("saved_model", "tflite"):
        assert reports[kind].keys() == keras.keys()
        for output, metrics in keras["outputs"].items():
            for name, value in metrics.items():
                if isinstance(value, float):
                    assert reports[kind]["outputs"][output][name] == pytest.approx(
                        value, abs=1e-3), (kind, output, name)
        assert reports[kind]["attributes"]["mean_ap"] == pytest.approx(
            keras["attributes"]["mean_ap"], abs=1e-3)


def test_evaluate_explanations_needs_the_keras_model(tiny_export, tmp_path, capsys):
    code = main(["evaluate", "--model", str(tiny_export / "saved_model" / "1"), "--explanations",
                 "--out", str(tmp_path / "e.json")])
    assert code == 2
    assert "needs the model's gradients: give the .keras model" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["explain", "evaluate", "score"])
def test_every_command_refuses_a_wrong_model_with_the_same_words(command, tiny_models, tiny_export,
                                                                 tmp_path, capsys):
    if command == "score":
        pytest.importorskip("apache_beam")
    (tmp_path / "model.h5").write_bytes(b"")
    photo = tmp_path / "photos"
    photo.mkdir()
    shutil.copy(real_photos()[0], photo / "a.png")
    arguments = {"explain": [str(photo), "--out", str(tmp_path / "out")],
                 "evaluate": ["--out", str(tmp_path / "o.json")],
                 "score": ["--input", str(photo), "--output", str(tmp_path / "s.csv")]}[command]
    cases = [(tmp_path / "none.keras", "none.keras: no such model file or folder"),
             (tmp_path / "model.h5", "model.h5 is no SIAM model file. Expected one of: a "
                                     "SavedModel version folder"),
             (tiny_export / "saved_model", "holds SavedModel versions ['1']: give one version "
                                           "folder")]
    if command != "evaluate":  # which scores baselines too
        cases.append((tiny_models[1], "baseline.keras: Model 'baseline' is a BaselineModel, not "
                                      "a SIAMModel"))
        cases.append((tiny_models[1], f"siam {command} needs a SIAM model"))
    for model, message in cases:
        assert main([command, "--model", str(model), *arguments]) == 2, (command, model)
        assert message in capsys.readouterr().err, (command, model)
