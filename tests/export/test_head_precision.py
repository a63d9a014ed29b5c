import math

import numpy as np
import pytest

from export.fidelity import explanation_residual, run_tflite
from export.variants import VARIANTS
from siam_keras.runtime.explanation import RESIDUAL_TOLERANCE
from siam_keras.runtime.images import read_photo, resize_for_model
from siam_keras.runtime.sidecar import ModelSidecar
from tests.real_photos import real_photos

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def photos():
    """Real photos (never seen in calibration: the tiny export calibrates on generated
    scenes) and the extremes: black, white, noise."""
    pixels = [resize_for_model(read_photo(path).pixels, 32) for path in real_photos()]
    rng = np.random.default_rng(0)
    pixels += [np.zeros((32, 32, 3), np.uint8), np.full((32, 32, 3), 255, np.uint8),
               rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)]
    return np.stack(pixels).astype("float32")


@pytest.mark.parametrize("variant", VARIANTS)
def test_explanations_from_any_variants_own_maps_are_exact_on_real_photos(tiny_export, photos,
                                                                         variant):
    """Given the model's own maps, the contributions and their spatial split recomputed
    from the sidecar's float32 head match the model's to float32 rounding."""
    sidecar = ModelSidecar.load(tiny_export / "tflite" / "siam_model.json")
    predicted = run_tflite(tiny_export / "tflite" / f"model_{variant}.tflite", photos)
    residual = explanation_residual(sidecar, predicted)
    assert residual <= RESIDUAL_TOLERANCE and residual < 1e-5, residual


def test_the_float32_heads_cost_is_measured_and_quantising_it_would_not_be_exact(tiny_export):
    import json

    report = json.loads((tiny_export / "fidelity.json").read_text())
    for variant in ("int8", "float16"):
        cost = report["variants"][variant]["float32_head"]
        assert cost["size_cost_bytes"] > 0 and math.isfinite(cost["latency_cost_ratio"])
        assert cost["explanation_residual_quantised_whole"] > report["variants"][variant][
            "explanation_residual"]
    assert report["variants"]["int8"]["float32_head"]["explanation_residual_quantised_whole"] > 1e-4


def test_a_large_grid_keeps_the_head_float32_in_the_dynamic_variant_too(tmp_path):
    """At 288 px the small CNN's 72 x 72 grid pools to 15 x 15 through a 15 x 72 matrix:
    1,080 weights, enough for dynamic-range quantisation to give it an int8 hybrid
    kernel, which put contributions 8e-5 off. Its float32 original is put back."""
    from export import flatbuffer, tflite
    from export.head_precision import INT8
    from siam_keras.models import build_siam_model, get_siam_layer
    from siam_keras.runtime.decomposition import HeadWeights
    from tests.conftest import _randomise_head

    model = build_siam_model(["a", "b", "c"], ["s"], image_size=288, template_size=15,
                             border_size=2)
    _randomise_head(model, 2)
    converted, _ = tflite.convert(model, ("dynamic",))
    parsed = flatbuffer.read(converted["dynamic"])
    assert not [t for t in parsed.subgraphs[0].tensors if t.type == INT8 and tuple(t.shape) == (15, 72)]
    path = tmp_path / "dynamic.tflite"
    path.write_bytes(converted["dynamic"])
    sidecar = ModelSidecar(name="m", attribute_names=("a", "b", "c"), output_names=("s",),
                           image_size=(288, 288), head=HeadWeights.from_layer(get_siam_layer(model)))
    photos = np.stack([resize_for_model(read_photo(p).pixels, 288) for p in real_photos()[:4]])
    residual = explanation_residual(sidecar, run_tflite(path, photos.astype("float32")))
    assert residual < 1e-5, residual
