"""The edge runtime's figure (Pillow only): the model variant, classification outputs."""

import numpy as np
from PIL import Image

from siam_keras.edge.overlay import draw_overlay
from tests.chosen_explanation import chosen_explanation


def _drawn(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_the_overlay_names_the_model_variant(tmp_path, rng):
    explanation = chosen_explanation()
    photo = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
    draw_overlay(tmp_path / "a.png", photo, explanation, 0, "scenicness", 4, "a.jpg")
    draw_overlay(tmp_path / "b.png", photo, explanation, 0, "scenicness", 4, "a.jpg",
                 variant="int8")
    plain, named = _drawn(tmp_path / "a.png"), _drawn(tmp_path / "b.png")
    assert plain.shape == named.shape
    changed = np.argwhere((plain != named).any(axis=-1))
    assert len(changed) > 20  # the caption's pixels, top right, and nothing else
    assert changed[:, 0].max() < 30 and changed[:, 1].min() > plain.shape[1] // 2


def test_a_classification_output_is_drawn_as_predicted_class_against_runner_up(tmp_path, rng):
    explanation = chosen_explanation()
    photo = (rng.random((64, 48, 3)) * 255).astype(np.uint8)
    draw_overlay(tmp_path / "c.png", photo, explanation, 0, "landscape", 4, "c.jpg",
                 variant="float32")
    assert _drawn(tmp_path / "c.png").shape[0] > 100
