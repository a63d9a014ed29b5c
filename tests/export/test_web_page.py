"""The web page (`siam-export --web`) in headless Chromium, against the Python runtimes."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from siam_keras.edge import test_vectors as vectors
from siam_keras.runtime.images import read_photo, resize_for_model
from tests.real_photos import real_photos
from tests.web_browser import browser, explain_file, open_page, served

TINY = 32


@pytest.fixture(scope="module")
def chromium():
    with browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def web(tiny_export):
    return tiny_export / "web"


def _edge(tiny_export, model):
    from siam_keras.edge import EdgeExplainer

    return EdgeExplainer(tiny_export / "tflite" / model)


def test_the_page_shows_the_python_edge_runtimes_numbers_on_the_test_vectors(chromium, web,
                                                                             tiny_export):
    page_json = json.loads((web / "page.json").read_text())
    data = vectors.load(web / vectors.FOLDER)
    tolerance = data["variants"][page_json["variant"]]["tolerance"]
    explainer = _edge(tiny_export, page_json["model"])
    assert len(data["images"]) >= 5
    with served(web) as url:
        page = open_page(chromium, url + "index.html")
        for entry in data["images"]:
            shown = explain_file(page, web / vectors.FOLDER / entry["file"])
            assert "error" not in shown, shown
            pixels = vectors.read_pixels(web / vectors.FOLDER / entry["file"])
            np.testing.assert_array_equal(np.reshape(shown["pixels"], pixels.shape), pixels)
            expected = explainer.predict(pixels[None])
            for key, value in expected.items():  # every tensor, found by its signature name
                assert vectors.relative_error(shown["outputs"][key], value.ravel()) <= tolerance, key
            output = shown["output"]
            assert vectors.relative_error(shown["value"], expected[output][0]) <= tolerance
            contributions = expected[f"{output}_contributions"][0]
            bars = [shown["shown"][name] for name in explainer.attribute_names]
            assert vectors.relative_error(bars, contributions) <= tolerance
        assert page.errors == []


def _what_if(page):
    return page.evaluate("""() => Object.fromEntries(Object.entries(
        window.siamPage.result.whatIf.outputs).map(([k, v]) => [k, v.value]))""")


def test_sliders_regions_and_the_brush_equal_intervene(chromium, web, tiny_export):
    page_json = json.loads((web / "page.json").read_text())
    explainer = _edge(tiny_export, page_json["model"])
    image = web / vectors.FOLDER / "image_01.png"
    pixels = vectors.read_pixels(image)[None]
    h, w = explainer.sidecar.feature_grid
    left = (np.arange(w) < w / 2)[None, None, :] * np.ones((1, h, 1))
    with served(web) as url:
        page = open_page(chromium, url + "index.html")
        explain_file(page, image)
        page.locator('#sliders input[data-attribute="trees"]').fill("0.5")
        page.select_option("#region-attribute", "sky")
        page.click('button[data-region="left"]')
        shown = _what_if(page)
        headline = float(page.locator("#what-if-result").get_attribute("data-value"))
        # The brush, on every attribute: the top-left feature cell.
        page.click("#reset")
        page.select_option("#region-attribute", "*")
        page.check("#brush")
        box = page.locator("#photo").bounding_box()
        page.locator("#photo").click(position={"x": box["width"] / (2 * w),
                                               "y": box["height"] / (2 * h)})
        brushed = _what_if(page)
        assert page.errors == []
    expected = explainer.intervene(pixels, {"trees": 0.5, "sky": 1.0 - left})
    for name, value in shown.items():
        assert vectors.relative_error(value, expected.counterfactual_outputs[name]) <= 1e-4, name
    assert vectors.relative_error(headline, expected.counterfactual_outputs["scenicness"][0]) <= 1e-4
    assert abs(headline - expected.outputs["scenicness"][0]) > 1e-3  # the edit changed something
    corner = np.ones((1, h, w))
    corner[0, 0, 0] = 0.0
    expected = explainer.intervene(pixels, {name: corner for name in explainer.attribute_names})
    for name, value in brushed.items():
        assert vectors.relative_error(value, expected.counterfactual_outputs[name]) <= 1e-4, name


def test_the_page_passes_every_variants_test_vectors(chromium, web, tiny_export, tmp_path):
    """The page's self-check (?check), run with each variant's model in its place."""
    site = tmp_path / "web"
    shutil.copytree(web, site)
    data = vectors.load(site / vectors.FOLDER)
    page_json = json.loads((site / "page.json").read_text())
    with served(site) as url:
        for variant, entry in data["variants"].items():
            shutil.copyfile(tiny_export / "tflite" / entry["file"], site / entry["file"])
            (site / "page.json").write_text(json.dumps({**page_json, "variant": variant,
                                                        "model": entry["file"]}))
            page = open_page(chromium, url + "index.html?check")
            page.wait_for_function("document.body.dataset.check !== undefined", timeout=60_000)
            assert page.evaluate("document.body.dataset.check") == "passed", page.inner_text("#status")
            page.close()
        # A wrong expectation fails the check: it is not a check that cannot fail.
        broken = json.loads((site / vectors.FOLDER / vectors.FILE).read_text())
        variant = page_json["variant"]
        broken["variants"][variant]["expected"][0]["attribute_maps"][0][0][0][0] += 0.5
        (site / vectors.FOLDER / vectors.FILE).write_text(json.dumps(broken))
        (site / "page.json").write_text(json.dumps(page_json))
        page = open_page(chromium, url + "index.html?check")
        page.wait_for_function("document.body.dataset.check !== undefined", timeout=60_000)
        assert page.evaluate("document.body.dataset.check") == "failed"


def _siam_keras_pixels(path, size=TINY):
    return resize_for_model(read_photo(path, target_size=(size, size)), size, size)


def test_real_photos_are_resized_as_siam_keras_resizes_them(chromium, web, tmp_path):
    png = next(p for p in real_photos() if p.name == "astronaut.png")
    jpeg = tmp_path / "turned.jpg"  # 3000 x 2000, stored on its side (EXIF orientation 6)
    with Image.open(next(p for p in real_photos() if p.name == "chelsea.png")) as photo:
        exif = Image.Exif()
        exif[0x0112] = 6
        photo.convert("RGB").resize((3000, 2000)).rotate(90, expand=True).save(
            jpeg, quality=92, exif=exif)
    transparent = tmp_path / "transparent.png"
    with Image.open(png) as photo:
        rgba = photo.convert("RGBA")
        rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
        rgba.save(transparent)
    with served(web) as url:
        page = open_page(chromium, url + "index.html")
        shown = {path.name: explain_file(page, path) for path in (png, jpeg, transparent)}
        assert page.errors == []
    # A PNG: the page's resize is Pillow's, bit for bit.
    np.testing.assert_array_equal(np.reshape(shown[png.name]["pixels"], (TINY, TINY, 3)),
                                  _siam_keras_pixels(png))
    # A turned 6 MP JPEG: Pillow decodes it at 1/8 (DCT scaling), the page averages 8 x 8
    # blocks of the browser's full decode: close, not exact (docs/deployment.md).
    difference = np.abs(np.reshape(shown[jpeg.name]["pixels"], (TINY, TINY, 3))
                        - _siam_keras_pixels(jpeg).astype(float))
    assert difference.mean() < 0.5 and difference.max() <= 8, (difference.mean(), difference.max())
    # Transparency over white, as read_photo composites it.
    difference = np.abs(np.reshape(shown[transparent.name]["pixels"], (TINY, TINY, 3))
                        - _siam_keras_pixels(transparent).astype(float))
    assert difference.max() <= 2, difference.max()


def _saved(path, image, **options):
    image.save(path, **options)
    return path


def test_turned_odd_sized_tall_and_other_formats_read_as_in_siam_keras(chromium, web, tmp_path):
    """JPEGs whose sides do not divide by the decode scale, turned by EXIF (their partial
    blocks lie elsewhere once upright), a tall PNG, a turned lossless WebP (Chromium
    leaves those as stored) and a GIF."""
    with Image.open(next(p for p in real_photos() if p.name == "coffee.png")) as photo:
        photo = photo.convert("RGB")
        files = {}
        for turn in (1, 3, 6, 8):
            exif = Image.Exif()
            exif[0x0112] = turn
            files[f"odd_{turn}.jpg"] = ("close", _saved(tmp_path / f"odd_{turn}.jpg", photo.resize(
                (1021, 763)), quality=92, exif=exif))
        exif = Image.Exif()
        exif[0x0112] = 6
        files["turned.webp"] = ("exact", _saved(tmp_path / "turned.webp", photo.resize((300, 200)),
                                                lossless=True, exif=exif))
        files["tall.png"] = ("exact", _saved(tmp_path / "tall.png", photo.resize((40, 400))))
        files["palette.gif"] = ("exact", _saved(tmp_path / "palette.gif", photo.resize((90, 70))))
    with served(web) as url:
        page = open_page(chromium, url + "index.html")
        shown = {name: explain_file(page, path) for name, (_, path) in files.items()}
        assert page.errors == []
    for name, (match, path) in files.items():
        assert "error" not in shown[name], (name, shown[name])
        got = np.reshape(shown[name]["pixels"], (TINY, TINY, 3)).astype(float)
        difference = np.abs(got - _siam_keras_pixels(path))
        if match == "exact":
            assert difference.max() == 0, (name, difference.max())
        else:
            assert difference.mean() < 0.5 and difference.max() <= 8, (name, difference.mean(),
                                                                       difference.max())


def test_unreadable_and_oversized_photos_are_refused_with_a_reason(chromium, web, tmp_path):
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("these are not pixels")
    huge = tmp_path / "huge.png"  # a header that claims 20000 x 20000 pixels
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + (20000).to_bytes(4, "big") * 2
                     + b"\x08\x02\x00\x00\x00" + b"\x00" * 4)
    with served(web) as url:
        page = open_page(chromium, url + "index.html")
        refused = explain_file(page, not_a_photo)
        assert "notes.jpg could not be read as an image" in refused["error"]
        refused = explain_file(page, huge)
        assert "20000 x 20000 pixels" in refused["error"]
        assert page.locator("#error").is_visible()
        empty = tmp_path / "empty.png"
        empty.write_bytes(b"")
        assert "empty.png is empty (0 bytes)" in explain_file(page, empty)["error"]
        truncated = tmp_path / "truncated.jpg"
        with Image.open(real_photos()[0]) as photo:
            photo.convert("RGB").save(truncated, quality=90)
        truncated.write_bytes(truncated.read_bytes()[:600])
        assert "damaged or truncated" in explain_file(page, truncated)["error"]
        # The page still works after these.
        shown = explain_file(page, web / vectors.FOLDER / "image_00.png")
        assert "error" not in shown and not page.locator("#error").is_visible()
        assert page.errors == []


def test_the_pixel_limit_holds_for_every_format(chromium, web, tmp_path):
    """page.json's max_pixels (siam-export --max-pixels), read from the header of a WebP,
    a GIF and a BMP too, not only of a PNG or a JPEG."""
    site = tmp_path / "web"
    shutil.copytree(web, site)
    settings = json.loads((site / "page.json").read_text())
    (site / "page.json").write_text(json.dumps({**settings, "max_pixels": 1000}))
    image = Image.new("RGB", (100, 100), "green")
    with served(site) as url:
        page = open_page(chromium, url + "index.html")
        for name, options in (("big.webp", {}), ("big.gif", {}), ("big.bmp", {}),
                              ("big.png", {})):
            refused = explain_file(page, _saved(tmp_path / name, image, **options))
            assert f"{name} is 100 x 100 pixels (0.010 MP), more than the 0.001 MP" in \
                refused.get("error", ""), refused.get("error")


def test_opened_as_a_file_the_page_says_to_serve_it(chromium, web):
    page = chromium.new_page()
    page.goto((web / "index.html").as_uri())
    page.wait_for_function("document.getElementById('status').dataset.kind === 'error'",
                           timeout=10_000)
    assert "through a web server" in page.inner_text("#status")


def test_a_broken_photo_leaves_no_earlier_explanation_on_show(chromium, web, tmp_path):
    """The error used to sit under "big.jpg: explained in 3218 ms" and big.jpg's figure."""
    photo = tmp_path / "first.png"
    shutil.copy(real_photos()[0], photo)
    broken = tmp_path / "second.jpg"
    broken.write_text("these are not pixels")
    with served(web) as url:
        page = open_page(chromium, url + "index.html")
        assert "error" not in explain_file(page, photo)
        assert page.locator("#prediction .photo-name").text_content() == "first.png"
        assert "first.png: explained in" in page.locator("#status").text_content()
        assert "second.jpg could not be read" in explain_file(page, broken)["error"]
        assert not page.locator("#result").is_visible()
        assert page.locator("#status").text_content() == "second.jpg: not explained"
        assert page.evaluate("window.siamPage.result") is None
        assert "error" not in explain_file(page, photo)  # and the page goes on
        assert page.locator("#result").is_visible() and page.errors == []


def test_the_page_flags_photos_unlike_the_training_photos_as_python_does(chromium, web,
                                                                        tiny_export, tmp_path):
    """The page's distance is Python's on the same maps; with a threshold that 2 of the 5
    photos exceed, the warning shows for those and only those."""
    page_json = json.loads((web / "page.json").read_text())
    explainer = _edge(tiny_export, page_json["model"])
    photos = real_photos()[:4] + [web / vectors.FOLDER / "image_00.png"]
    pixels = np.stack([resize_for_model(read_photo(p, target_size=(TINY, TINY)), TINY, TINY)
                       for p in photos])
    distances = explainer(pixels.astype("float32")).out_of_distribution.distance
    site = tmp_path / "web"
    shutil.copytree(web, site)
    sidecar = json.loads((site / page_json["sidecar"]).read_text())
    threshold = float(np.sort(distances)[2:4].mean())  # between the photos: 2 beyond it
    sidecar["training_distribution"]["threshold"] = threshold
    (site / page_json["sidecar"]).write_text(json.dumps(sidecar))
    flags = []
    with served(site) as url:
        page = open_page(chromium, url + "index.html")
        for path, distance in zip(photos, distances):
            shown = explain_file(page, path)
            assert "error" not in shown, shown
            unusual = page.evaluate("window.siamPage.result.outOfDistribution")
            assert unusual["distance"] == pytest.approx(distance, rel=1e-4)
            assert unusual["threshold"] == pytest.approx(threshold)
            warning = page.locator("#prediction .out-of-distribution")
            assert warning.is_visible() == unusual["flagged"]
            if unusual["flagged"]:
                assert warning.text_content().startswith(
                    "Out of distribution: unlike the training photos (distance ")
            flags.append(unusual["flagged"])
        assert page.errors == []
    assert flags == list(distances > threshold) and sum(flags) == 2
