import json

import numpy as np
import pytest

from export.cli import main
from export.variants import VARIANTS
from siam_keras.runtime.sidecar import ModelSidecar

FAST = ["--calibration-images", "4", "--holdout-images", "4", "--latency-runs", "2"]


@pytest.mark.slow
def test_export_writes_every_part(tiny_export):
    assert (tiny_export / "saved_model" / "1" / "saved_model.pb").is_file()
    assert (tiny_export / "saved_model" / "1" / "assets" / "siam_model.json").is_file()
    for variant in VARIANTS:
        assert (tiny_export / "tflite" / f"model_{variant}.tflite").is_file()
    report = json.loads((tiny_export / "fidelity.json").read_text())
    for variant in VARIANTS:
        entry = report["variants"][variant]
        for key in ("size_bytes", "size_ratio", "latency_ms", "latency_ratio", "output_mae",
                    "output_kendall_tau", "attribute_map_r", "top3_agreement", "contribution_mae"):
            assert key in entry, (variant, key)
    assert report["variants"]["float32"]["size_ratio"] == 1.0
    assert report["variants"]["float32"]["output_mae"] < 1e-5
    assert report["variants"]["int8"]["size_ratio"] < 0.45
    sidecar = ModelSidecar.load(tiny_export / "tflite" / "siam_model.json")
    assert sidecar.variants["int8"]["file"] == "model_int8.tflite"
    assert sidecar.variants["float32"]["tolerance"] <= 1e-3
    assert set(sidecar.signatures) == {"serving_default", "serve_image_bytes"}
    assert list((tiny_export / "edge").glob("siam_keras_edge-*.whl"))
    # Nothing half-written stays behind.
    assert not [p for p in tiny_export.rglob(".*") if p.name != ".gitignore"]


@pytest.mark.slow
def test_an_existing_version_is_refused_unless_overwrite(tiny_models, tiny_export, tmp_path, capsys):
    args = ["--model", str(tiny_models[0]), "--out", str(tiny_export), "--version", "1",
            "--tflite", "float32", *FAST]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "already holds SavedModel version 1" in err and "--version 2" in err
    out = tmp_path / "again"
    assert main(["--model", str(tiny_models[0]), "--out", str(out), "--tflite", "float32", *FAST]) == 0
    before = (out / "saved_model" / "1" / "saved_model.pb").stat().st_mtime_ns
    assert main(["--model", str(tiny_models[0]), "--out", str(out), "--version", "1", "--overwrite",
                 "--tflite", "float32", *FAST]) == 0
    assert (out / "saved_model" / "1" / "saved_model.pb").stat().st_mtime_ns != before
    assert main(["--model", str(tiny_models[0]), "--out", str(out), "--tflite", "float32",
                 "--overwrite", *FAST]) == 0
    assert sorted(p.name for p in (out / "saved_model").iterdir()) == ["1", "2"]


@pytest.mark.slow
def test_a_second_export_replaces_the_tflite_models_whole_or_not_at_all(tiny_models, tmp_path,
                                                                         capsys):
    from siam_keras.edge import EdgeExplainer

    out = tmp_path / "export"
    base = ["--model", str(tiny_models[0]), "--out", str(out), *FAST]
    assert main([*base, "--tflite", "float32,dynamic", "--web"]) == 0
    assert json.loads((out / "web" / "page.json").read_text())["variant"] == "dynamic"
    before = {p.name: p.read_bytes() for p in (out / "tflite").rglob("*") if p.is_file()}
    fidelity = (out / "fidelity.json").read_bytes()
    assert main([*base, "--tflite", "float32"]) == 2  # a new SavedModel version, but TFLite exists
    err = capsys.readouterr().err
    assert "already holds an export's tflite and fidelity.json" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in (out / "tflite").rglob("*") if p.is_file()} == before
    assert (out / "fidelity.json").read_bytes() == fidelity
    (out / ".web-k1lled09").mkdir()  # a staging folder a hard kill left (mkdtemp's name)
    (out / ".web-backup").mkdir()  # a user's: not ours, kept
    assert main([*base, "--tflite", "float32", "--overwrite"]) == 0
    # The earlier page ran the earlier export's model: it goes too, with a word.
    assert not (out / "web").exists() and "Removed the earlier export's" in capsys.readouterr().out
    # No model of the first export stays beside the new sidecar.
    assert sorted(p.name for p in (out / "tflite").iterdir()) == ["model_float32.tflite",
                                                                  "siam_model.json",
                                                                  "test_vectors"]
    assert list(json.loads((out / "tflite" / "test_vectors" / "test_vectors.json").read_text())[
        "variants"]) == ["float32"]
    assert EdgeExplainer(out / "tflite" / "model_float32.tflite").variant == "float32"
    assert [p.name for p in out.rglob(".*")] == [".web-backup"]


@pytest.mark.parametrize("args, message", [
    (["--tflite", "float32,int4"], "Unknown TFLite variant(s) ['int4']"),
    (["--model", "/no/such/model.keras"], "Model file not found"),
    (["--calibration-images", "0"], "positive integers. Received: --calibration-images=0"),
    (["--web-variant", "int8"], "--web-variant and --litertjs describe the web page: add --web"),
    (["--web", "--litertjs", "/no/such"], "The web page needs LiteRT.js, and /no/such lacks"),
    (["--web", "--tflite", "float32", "--web-variant", "int8"],
     "--web-variant int8 is not among the exported variants (float32)"),
])
def test_bad_input_gets_one_clear_message(tiny_models, tmp_path, capsys, args, message):
    base = ["--model", str(tiny_models[0]), "--out", str(tmp_path / "x")]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_empty_calibration_folder_and_non_siam_model(tiny_models, tmp_path, capsys):
    empty = tmp_path / "calibration"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    assert main(["--model", str(tiny_models[0]), "--out", str(tmp_path / "x"),
                 "--calibration", str(empty)]) == 2
    assert f"No readable images in {empty}" in capsys.readouterr().err
    assert main(["--model", str(tiny_models[1]), "--out", str(tmp_path / "y")]) == 2
    assert "needs a SIAM model" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_int8_calibrated_on_too_few_images_is_refused_before_any_work(tiny_models, tmp_path,
                                                                      capsys):
    out = tmp_path / "x"
    assert main(["--model", str(tiny_models[0]), "--out", str(out), "--calibration-images", "3",
                 "--holdout-images", "4"]) == 2
    err = capsys.readouterr().err
    assert "int8 needs at least 10 calibration images" in err and "gave 3" in err
    assert not (out / "saved_model").exists()


def test_undefined_statistics_are_null_with_a_warning_never_nan(tmp_path):
    from export.fidelity import _defined, compare
    from siam_keras.runtime.atomic import write_json

    reference = {"s": np.arange(4, dtype="float32"), "s_contributions": np.ones((4, 2), "float32"),
                 "attribute_maps": np.random.default_rng(0).random((4, 2, 2, 2))}
    constant = {**reference, "s": np.full(4, 3.0, "float32")}
    warnings = []
    entry = _defined(compare(reference, constant, "s"), "int8", warnings)
    write_json(tmp_path / "entry.json", entry)
    assert json.loads((tmp_path / "entry.json").read_text())["output_kendall_tau"] is None
    assert warnings == ["int8: output_kendall_tau is undefined (constant outputs on the held-out "
                        "images?), written as null"]
    write_json(tmp_path / "f.json", {"tau": float("nan"), "nested": [float("inf")]})
    assert json.loads((tmp_path / "f.json").read_text()) == {"tau": None, "nested": [None]}
    assert "NaN" not in (tmp_path / "f.json").read_text()
