"""The runtime layer stands alone: NumPy and Pillow, never TensorFlow or Keras."""

import pkgutil
import subprocess
import sys

import siam_keras.app
import siam_keras.runtime

BLOCKED = r"""
import importlib, sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tensorflow_datasets", "matplotlib",
                                  "scipy", "ai_edge_litert"):
            raise ImportError(f"{name} may not be imported by the runtime layer")
sys.meta_path.insert(0, Blocker())
for name in sys.argv[1:]:
    importlib.import_module(name)
print("imported", len(sys.argv) - 1)
"""


def runtime_modules():
    """The runtime's modules and the folder app's (which the edge wheel ships too)."""
    return sorted(f"{package.__name__}.{info.name}" for package in (siam_keras.runtime,
                                                                    siam_keras.app)
                  for info in pkgutil.iter_modules(package.__path__))


def test_every_runtime_module_imports_with_tensorflow_keras_and_scipy_blocked():
    modules = runtime_modules()
    assert {"siam_keras.runtime.images", "siam_keras.runtime.explanation",
            "siam_keras.runtime.sidecar", "siam_keras.app.image_files"} <= set(modules)
    result = subprocess.run([sys.executable, "-c", BLOCKED, "siam_keras.vocabulary", *modules],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"imported {len(modules) + 1}" in result.stdout


def test_an_explanation_is_built_and_written_with_tensorflow_blocked(tmp_path):
    code = BLOCKED + r"""
import numpy as np
from siam_keras.runtime.atomic import write_json
from siam_keras.runtime.decomposition import HeadWeights, OutputHead, decompose
from siam_keras.runtime.explanation import SIAMExplanation
rng = np.random.default_rng(0)
cells, mixing = np.abs(rng.normal(size=(4, 4, 2, 2))).astype("float32"), rng.normal(size=(2, 2)).astype("float32")
head = HeadWeights(("a", "b"), {"s": OutputHead(cells, mixing, 1.5)})
maps = np.abs(rng.normal(size=(3, 4, 4, 2))).astype("float32")
d = decompose(head.outputs["s"], maps)
predictions = {"attribute_maps": maps, "attribute_scores": maps.mean(axis=(1, 2)),
               "s": 1.5 + d.contributions.sum(axis=1), "s_contributions": d.contributions}
explanation = SIAMExplanation.from_predictions(head, predictions, (16, 16))
write_json(OUT, explanation.to_json(0))
""".replace("OUT", repr(str(tmp_path / "e.json")))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "e.json").read_text().startswith("{")
