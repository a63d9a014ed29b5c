"""The explanation figure: what it shows, in which order, on which scale, and its layout."""

import re

import matplotlib
import numpy as np
import pytest
from PIL import Image

from siam_keras.plotting import explanation_figure, plot_explanation
from siam_keras.plotting.explanation_figure import draw_explanation
from siam_keras.runtime import colours
from tests.chosen_explanation import MIXING, NAMES

MINUS_ZERO = re.compile(r"[-\u2212]0(\.0+)?(?![.\d])")


def _texts(canvas, role):
    return [t for t in canvas.texts if t.role == role]


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.fixture
def pdf_backend():
    before = matplotlib.get_backend()
    matplotlib.use("pdf")
    yield
    matplotlib.use(before)


def test_the_backend_is_left_alone(pdf_backend, chosen, grey_photo, tmp_path):
    plot_explanation(tmp_path / "a.png", grey_photo, chosen, 0)
    figure = explanation_figure(grey_photo, chosen, 0, output="landscape")
    assert matplotlib.get_backend() == "pdf"
    assert type(figure.canvas).__name__ == "FigureCanvasAgg"
    assert figure._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # shown by Jupyter as it is


def test_the_figure_has_its_panels_and_the_png_is_its_pixels(chosen, grey_photo, tmp_path):
    canvas = draw_explanation(grey_photo, chosen, 0, top_k=3, label=6.0, title="a.jpg")
    assert set(canvas.panels) == {"photo", "overlay", "colour_bar", "bars", "thumbnails",
                                  "map_scale"}
    width, height = canvas.size
    boxes = list(canvas.panels.values())
    for n, box in enumerate(boxes):
        assert 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height
        assert not any(_overlaps(box, other) for other in boxes[n + 1:])
    assert [t.text for t in _texts(canvas, "title")] == [
        "a.jpg", "scenicness: 5.901  (label 6.000)  =  bias 5.000  +0.901 from 5 attributes"]
    assert len(_texts(canvas, "thumbnail_title")) == 3 and len(_texts(canvas, "bar_name")) == 5
    figure = explanation_figure(grey_photo, chosen, 0, top_k=3, label=6.0, title="a.jpg")
    assert tuple(figure.get_size_inches() * figure.dpi) == pytest.approx((width, height))
    np.testing.assert_array_equal(figure.axes[0].images[0].get_array(), canvas.pixels)
    plot_explanation(tmp_path / "a.png", grey_photo, chosen, 0, top_k=3, label=6.0, title="a.jpg")
    with Image.open(tmp_path / "a.png") as saved:
        np.testing.assert_array_equal(np.asarray(saved), canvas.pixels)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


@pytest.mark.parametrize("output", ["scenicness", "landscape"])
def test_bars_and_thumbnails_share_one_order_largest_first(chosen, grey_photo, output):
    canvas = draw_explanation(grey_photo, chosen, 0, output=output, top_k=4)
    explained = chosen.output(output)
    number = explained.shown(0)
    expected = [NAMES[j] for j in np.argsort(-np.abs(number.contributions), kind="stable")]
    bars = [t.text for t in sorted(_texts(canvas, "bar_name"), key=lambda t: t.box[1])]
    thumbnails = [t.text.split(" ")[0]
                  for t in sorted(_texts(canvas, "thumbnail_title"), key=lambda t: t.box[0])]
    assert bars == expected and thumbnails == expected[:4]


def test_every_map_is_on_the_images_one_scale(chosen, grey_photo):
    """rock's map is 0.004 everywhere: dark, not as bright as the largest map."""
    canvas = draw_explanation(grey_photo, chosen, 0, top_k=5)
    left, top, right, bottom = canvas.panels["thumbnails"]
    row = canvas.pixels[top:bottom, left:right].astype(float)
    slot = (right - left) // 5
    centre = row[row.shape[0] // 2 - 5 : row.shape[0] // 2 + 5]
    brightness = {NAMES[j]: centre[:, int((n + 0.5) * slot) - 5 : int((n + 0.5) * slot) + 5].mean()
                  for n, j in enumerate(chosen.output("scenicness").top_k[0])}
    assert brightness["rock"] < 40  # 0.25 * grey 128 + 0.75 * magma(0)
    assert brightness["water"] > 100  # a map of 1 on a scale up to 2
    assert [t.text for t in _texts(canvas, "map_scale")] == ["0", "2"]


def test_contributions_that_read_zero_are_grey_and_never_minus_zero(chosen, grey_photo):
    canvas = draw_explanation(grey_photo, chosen, 0, top_k=5)
    assert MIXING[3] == -0.003  # road: "-0.00" and a blue frame before
    assert not [t.text for t in canvas.texts if MINUS_ZERO.search(t.text)]
    grey = colours.NONE
    titles = {t.text.split(" ")[0]: t for t in _texts(canvas, "thumbnail_title")}
    assert titles["road"].text == "road 0.00" and titles["road"].colour == grey
    assert titles["rock"].text == "rock 0.00" and titles["rock"].colour == grey
    assert titles["water"].colour == colours.NEGATIVE and titles["sky"].colour == colours.POSITIVE
    left, top, right, _ = canvas.panels["thumbnails"]
    column = canvas.pixels[top:, :]
    slot = (right - left) // 5
    for n, name in enumerate(t.text.split(" ")[0] for t in
                             sorted(titles.values(), key=lambda t: t.box[0])):
        x = left + int((n + 0.5) * slot)
        frame = next(tuple(p) for p in column[:, x] if tuple(p) != (255, 255, 255))
        assert frame == titles[name].colour, name


@pytest.mark.parametrize("output, label", [("scenicness", 6.0), ("landscape", "coast")])
def test_no_text_overlaps_another_or_an_image_on_a_portrait_photo(chosen, output, label):
    portrait = np.full((80, 40, 3), 128, np.uint8)
    canvas = draw_explanation(portrait, chosen, 0, output=output, label=label,
                              title="a long file name, portrait.jpg")
    texts = [t for t in canvas.texts if t.text.strip()]
    images = [canvas.panels[name] for name in ("photo", "overlay", "colour_bar", "thumbnails")]
    for n, text in enumerate(texts):
        assert 0 <= text.box[0] and text.box[2] <= canvas.size[0], text
        for other in texts[n + 1:]:
            assert not _overlaps(text.box, other.box), (text, other)
        assert not any(_overlaps(text.box, image) for image in images), text


def test_a_classification_figure_explains_the_predicted_class_against_the_runner_up(
        chosen, grey_photo):
    canvas = draw_explanation(grey_photo, chosen, 0, output="landscape", label="coast")
    versus = chosen.output("landscape").versus(0)
    title = [t.text for t in _texts(canvas, "title")]
    assert title[0].startswith("landscape: town (p = ") and "runner-up coast" in title[0]
    assert title[1].startswith(f"logit difference {versus.value:.3f}")
    values = sorted(_texts(canvas, "bar_value"), key=lambda t: t.box[1])
    expected = versus.contributions[np.argsort(-np.abs(versus.contributions), kind="stable")]
    assert [t.text for t in values] == [colours.signed_text(v) for v in expected]
    assert "what separates the predicted class from the runner-up" in [
        t.text for t in _texts(canvas, "panel_title")]
