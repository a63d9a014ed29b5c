"""The edge runtime in a fresh virtual environment holding only its runtime dependencies."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from siam_keras.runtime.sidecar import ModelSidecar

ALLOWED = {"numpy", "pillow", "ai-edge-litert", "siam-keras-edge", "pip", "setuptools",
           # ai-edge-litert's own dependencies
           "backports.strenum", "backports-strenum", "flatbuffers", "ml-dtypes", "ml_dtypes",
           "protobuf", "tqdm", "typing-extensions", "typing_extensions"}


@pytest.mark.slow
def test_wheel_installs_alone_and_explains_like_siam_explain(tiny_export, tiny_models,
                                                             tiny_scenes, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    wheel = next((tiny_export / "edge").glob("siam_keras_edge-*.whl"))
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, check=True)
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert installed <= ALLOWED, installed - ALLOWED
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        Image.fromarray(tiny_scenes["image"][i]).save(photos / f"p{i}.png")
    model = tiny_export / "tflite" / "model_int8.tflite"
    run = subprocess.run([str(venv / "bin" / "siam-edge"), "explain", "--model", str(model),
                          str(photos), "--out", str(tmp_path / "edge")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    from siam_keras.cli import main

    assert main(["explain", "--model", str(tiny_models[0]), str(photos), "--out",
                 str(tmp_path / "keras")]) == 0
    # Within what the export measured for int8 on held-out images (with a margin of 2).
    errors = ModelSidecar.load(model.with_name("siam_model.json")).variants["int8"]["max_abs_error"]
    for i in range(4):
        edge, keras = (json.loads((tmp_path / d / f"p{i}.json").read_text()) for d in ("edge", "keras"))
        for output, entry in keras["outputs"].items():
            assert abs(edge["outputs"][output]["value"] - entry["value"]) <= 2 * errors["output"]
            np.testing.assert_allclose(list(edge["outputs"][output]["contributions"].values()),
                                       list(entry["contributions"].values()),
                                       atol=2 * errors["contribution"])
        for attribute, grid in keras["attribute_maps"].items():
            np.testing.assert_allclose(edge["attribute_maps"][attribute], grid,
                                       atol=2 * errors["attribute_map"])
