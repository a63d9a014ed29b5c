"""Every command's stderr holds the user's lines only: no library start-up chatter.

Each command printed `E0000 ... cuda_platform.cc:52] failed call to cuInit: ... (303)` on a
machine without a GPU; `siam score` printed Apache Beam's warnings about itself; siam-edge
LiteRT's "INFO: Created TensorFlow Lite XNNPACK delegate".
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
CHATTER = ("cuInit", "cuda", "CUDA", "absl", "XNNPACK", "INFO", "WARNING:root", "I0000",
           "E0000", "W0000", "oneDNN", "cpu_feature_guard")


def _stderr(*command, cwd):
    environment = {key: value for key, value in os.environ.items() if key != "SIAM_VERBOSE"}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell: nothing set
    done = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=environment)
    assert done.returncode in (0, 3), done.stderr[-3000:]
    return done.stderr


@pytest.mark.parametrize("command", [["siam", "--help"], ["siam", "explain", "--help"],
                                     ["siam", "score", "--help"], ["siam-train", "--help"],
                                     ["siam-export", "--help"], ["siam-edge", "--help"]])
def test_help_writes_nothing_to_stderr(command, tmp_path):
    assert _stderr(*command, cwd=tmp_path) == ""


def test_real_calls_print_no_library_chatter(tiny_models, tiny_export, tiny_scenes, tmp_path):
    Image.fromarray(tiny_scenes["image"][0]).save(tmp_path / "p.png")
    (tmp_path / "m.csv").write_text("image\np.png\n")
    calls = [
        ["siam-edge", "explain", "--model", str(tiny_export / "tflite" / "model_float32.tflite"),
         "p.png", "--out", "edge"],
        # siam explain and evaluate on exported models (TensorFlow, LiteRT); .keras: siam-export
        ["siam", "explain", "--model", str(tiny_export / "saved_model" / "1"), "p.png", "--out",
         "saved"],
        ["siam", "evaluate", "--model", str(tiny_export / "tflite" / "model_float32.tflite"),
         "--out", "e.json", "--num-images", "4"],
        ["siam", "score", "--model", str(tiny_export / "saved_model" / "1"), "--input", "m.csv",
         "--output", "s.parquet", "--failures", "f.csv"],
        ["siam-train", "--config", "demo", "--out", "run", "--keep-unhealthy", "--set",
         "data.image_size=32", "data.synthetic_scenes.num_train=16",
         "data.synthetic_scenes.num_validation=8", "data.synthetic_scenes.num_test=8",
         "data.synthetic_scenes.truth_template_size=4", "model.template_size=4", "train.epochs=1",
         "train.batch_size=8", "train.min_steps_per_epoch=1", "train.lr_decay_epochs=[]",
         "baseline.enabled=false"],
        ["siam-export", "--model", str(tiny_models[0]), "--out", "export", "--tflite", "float32",
         "--holdout-images", "4", "--latency-runs", "1", "--test-vectors", "1"],
    ]
    for call in calls:
        err = _stderr(*call, cwd=tmp_path)
        noise = [line for line in err.splitlines() if any(word in line for word in CHATTER)]
        assert not noise, (call[:2], noise)
