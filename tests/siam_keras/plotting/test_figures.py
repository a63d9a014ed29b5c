import matplotlib
import numpy as np
import pytest

from siam_keras.explanations import SIAMExplainer
from siam_keras.plotting import (
    plot_attribute_maps,
    plot_deletion_curves,
    plot_explanation,
    plot_overview,
)
from siam_keras.plotting.explanation_figure import display_photo
from siam_keras.plotting.overview import extreme_errors

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def explanation(tiny_siam, tiny_scenes):
    return SIAMExplainer(tiny_siam)(tiny_scenes["image"])


def test_extreme_errors_skip_unknown_labels():
    predicted = np.array([5.0, 7.0, 4.0, 6.0, 9.0])
    labels = np.array([5.0, 5.0, 5.0, 5.0, np.nan])
    assert extreme_errors(predicted, labels, 2) == {"over": [1, 3], "under": [2, 0]}


def test_explanation_figure_for_any_photo_shape(explanation, tmp_path, rng):
    photo = (rng.random((40, 90, 3)) * 255).astype(np.uint8)  # not the model's 32 x 32
    plot_explanation(tmp_path / "a.png", photo, explanation, 3, output="scenicness_variance",
                     top_k=20, label=1.5, title="a photo")
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match="Unknown output 'beauty'"):
        plot_explanation(tmp_path / "b.png", photo, explanation, 0, output="beauty")


def test_display_photo_keeps_the_aspect_and_never_enlarges(rng):
    photo = (rng.random((1000, 2000, 3)) * 255).astype(np.uint8)
    assert display_photo(photo, 384).shape == (192, 384, 3)
    assert display_photo(photo[:50, :60], 384).shape == (50, 60, 3)


def test_overview_shows_the_extremes_and_returns_their_numbers(explanation, tiny_scenes, tmp_path):
    labels = tiny_scenes["scenicness"]
    shown = plot_overview(tmp_path / "o.png", tiny_scenes["image"], explanation, labels, count=3)
    assert (tmp_path / "o.png").read_bytes()[:8] == PNG
    errors = explanation.outputs["scenicness"].value - labels
    assert [s["index"] for s in shown["over"]] == list(np.argsort(-errors)[:3])
    assert shown["under"][0]["error"] == pytest.approx(errors.min(), abs=1e-6)
    assert len(shown["over"][0]["top_attributes"]) == 3
    with pytest.raises(ValueError, match="at least 2 images"):
        plot_overview(tmp_path / "x.png", tiny_scenes["image"], explanation,
                      np.full(len(labels), np.nan))


def test_deletion_curves_figure(tmp_path):
    deletion = {"output": "scenicness", "steps": 2, "fill": "mean", "num_images": 3,
                "mean_curves": {"siam": [5.0, 4.0, 3.5], "gradcam": [5.0, 4.5, 3.5]}}
    plot_deletion_curves(tmp_path / "d.png", deletion)
    assert (tmp_path / "d.png").read_bytes()[:8] == PNG


def test_no_figure_switches_the_backend(explanation, tiny_scenes, tmp_path):
    """matplotlib.use("Agg") in a library breaks a notebook's inline plots."""
    before = matplotlib.get_backend()
    matplotlib.use("pdf")
    try:
        images = tiny_scenes["image"]
        plot_overview(tmp_path / "o.png", images, explanation, tiny_scenes["scenicness"], count=2)
        plot_attribute_maps(tmp_path / "m.png", images[:2], explanation.attribute_maps[:2],
                            explanation.attribute_names, titles=["a", "b"])
        plot_deletion_curves(tmp_path / "d.png", {
            "output": "scenicness", "steps": 1, "fill": "mean", "num_images": 2,
            "mean_curves": {"siam": [5.0, 4.0]}})
        plot_explanation(tmp_path / "e.png", images[0], explanation, 0)
        assert matplotlib.get_backend() == "pdf"
    finally:
        matplotlib.use(before)
    for name in ("o", "m", "d", "e"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG
