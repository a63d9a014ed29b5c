import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.image_cases import READABLE, UNREADABLE, write_image_cases

pytestmark = pytest.mark.slow

# Runs siam-edge where importing TensorFlow, Keras, matplotlib or SciPy raises.
WITHOUT_TENSORFLOW = r"""
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "matplotlib", "scipy", "tf_keras_vis"):
            raise ImportError(f"{name} is not allowed in the edge runtime")
sys.meta_path.insert(0, Blocker())
from siam_keras.edge.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def photos(tmp_path_factory, tiny_scenes):
    folder = tmp_path_factory.mktemp("edge_photos")
    write_image_cases(folder / "cases", tiny_scenes["image"][3])
    for i in range(3):
        Image.fromarray(tiny_scenes["image"][i]).save(folder / f"scene_{i}.png")
    return folder


def test_siam_edge_needs_no_tensorflow_and_writes_what_siam_explain_writes(
        tiny_export, tiny_models, photos, tmp_path):
    edge_out, keras_out = tmp_path / "edge", tmp_path / "keras"
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW, "explain", "--model",
         str(tiny_export / "tflite" / "model_float32.tflite"), str(photos), "--out", str(edge_out),
         "--top-k", "4"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]  # the unreadable cases
    for name in UNREADABLE:
        assert name in result.stderr
    from siam_keras.cli import main as siam_main

    assert siam_main(["explain", "--model", str(tiny_models[0]), str(photos), "--out",
                      str(keras_out), "--top-k", "4"]) == 1
    names = [n.rsplit(".", 1)[0] for n in READABLE] + [f"scene_{i}" for i in range(3)]
    for name in names:
        edge, keras = (json.loads((out / f"{name}.json").read_text()) for out in (edge_out, keras_out))
        assert (edge_out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert edge.keys() == keras.keys() and edge["source"] == keras["source"]
        for output, entry in keras["outputs"].items():
            assert abs(edge["outputs"][output]["value"] - entry["value"]) < 1e-4
            np.testing.assert_allclose(list(edge["outputs"][output]["contributions"].values()),
                                       list(entry["contributions"].values()), atol=1e-4)
            np.testing.assert_allclose(edge["outputs"][output]["spatial_contributions"],
                                       entry["spatial_contributions"], atol=1e-4)
        np.testing.assert_allclose(edge["attribute_maps"]["trees"], keras["attribute_maps"]["trees"],
                                   atol=1e-4)


def test_bad_input_gets_one_clear_message(tiny_export, photos, tmp_path, capsys):
    from siam_keras.edge.cli import main

    model = str(tiny_export / "tflite" / "model_int8.tflite")
    assert main(["explain", "--model", str(tmp_path / "none.tflite"), str(photos), "--out",
                 str(tmp_path / "o")]) == 2
    assert "Model file not found" in capsys.readouterr().err
    assert main(["explain", "--model", model, str(photos), "--out", str(tmp_path / "o"),
                 "--output", "beauty"]) == 2
    assert "Unknown --output 'beauty'" in capsys.readouterr().err
    assert main(["explain", "--model", model, str(tmp_path / "nowhere"), "--out",
                 str(tmp_path / "o")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
