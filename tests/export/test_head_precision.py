import math

import numpy as np
import pytest

from export.fidelity import explanation_residual, run_tflite
from export.variants import VARIANTS
from siam_keras.explanations.explanation import RESIDUAL_TOLERANCE
from siam_keras.images import read_photo, resize_for_model
from siam_keras.sidecar import ModelSidecar
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
