import numpy as np
import pytest
from PIL import Image

from siam_keras.runtime.images import ImageError, find_images, read_photo, resize_for_model
from tests.image_cases import READABLE, UNREADABLE, write_image_cases


@pytest.fixture(scope="module")
def rgb():
    from siam_keras.data import SyntheticScenes

    return SyntheticScenes(image_size=48, template_size=4).generate("test", 1)["image"][0]


@pytest.fixture(scope="module")
def cases(rgb, tmp_path_factory):
    return write_image_cases(tmp_path_factory.mktemp("cases"), rgb)


@pytest.mark.parametrize("name", READABLE)
def test_every_readable_case_decodes_to_upright_rgb(name, cases, rgb):
    photo = read_photo(cases[name])
    assert photo.pixels.dtype == np.uint8 and photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3
    if name == "large.jpg":
        assert photo.pixels.shape == (48 * 9, 48 * 12, 3)
        return
    assert photo.pixels.shape == rgb.shape, name  # the EXIF rotation is undone
    shown = photo.pixels.astype(float)
    if name in ("grey16.png", "grey.webp"):
        expected = np.repeat(np.asarray(Image.fromarray(rgb).convert("L"), float)[..., None], 3, -1)
        tolerance = 1.0 if name == "grey16.png" else 12.0
    elif name == "rgba.png":
        assert (photo.pixels[:12] == 255).all()  # transparent -> white background
        shown, expected, tolerance = shown[12:], rgb[12:].astype(float), 0.0
    else:
        expected, tolerance = rgb.astype(float), 12.0  # JPEG / palette losses
    assert np.abs(shown - expected).mean() <= tolerance, name


def test_source_mode_is_recorded(cases):
    assert read_photo(cases["cmyk.jpg"]).source_mode == "CMYK"
    assert read_photo(cases["grey16.png"]).source_mode.startswith("I;16")


@pytest.mark.parametrize("name, reason", [
    ("truncated.jpg", "truncated"), ("text.jpg", "not an image"), ("empty.jpg", "empty file"),
    ("huge_20000.png", "decompression bomb"),
])
def test_unreadable_cases_are_named_with_a_reason(name, reason, cases):
    assert name in UNREADABLE
    with pytest.raises(ImageError, match=reason) as info:
        read_photo(cases[name])
    assert str(cases[name]) in str(info.value)


def test_size_limit_refuses_before_decoding(cases):
    # 576 x 432 = 248,832 pixels: over a 100,000-pixel limit, refused from the header.
    with pytest.raises(ImageError, match=r"576 x 432 pixels.*refused without decoding"):
        read_photo(cases["large.jpg"], max_pixels=100_000)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_photo(tmp_path / "nope.jpg")


def test_resize_for_model_is_the_pillow_bilinear_of_the_whole_photo(rgb):
    resized = resize_for_model(rgb, 32)
    expected = np.asarray(Image.fromarray(rgb).resize((32, 32), Image.BILINEAR))
    np.testing.assert_array_equal(resized, expected)
    assert resize_for_model(rgb, 48) is not None and resize_for_model(rgb, 16, 24).shape == (16, 24, 3)


def test_find_images_expands_folders_and_keeps_named_files(cases, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.PNG").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("skip me")
    named = tmp_path / "photo.dat"
    named.write_bytes(b"x")
    found = find_images([tmp_path, named])
    assert found == [tmp_path / "sub" / "a.PNG", named]
    with pytest.raises(FileNotFoundError, match="missing"):
        find_images([tmp_path / "missing"])
