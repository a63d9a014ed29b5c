import struct

import numpy as np
import pytest
from PIL import Image

from siam_keras.runtime.images import (
    ImageError,
    decode_photo,
    find_images,
    read_photo,
    resize_for_model,
)
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
    if name in ("grey16.png", "grey.webp", "grey16_deflate.tiff"):
        expected = np.repeat(np.asarray(Image.fromarray(rgb).convert("L"), float)[..., None], 3, -1)
        tolerance = 12.0 if name == "grey.webp" else 1.0
    elif name == "rgba.png":
        assert (photo.pixels[:12] == 255).all()  # transparent -> white background
        shown, expected, tolerance = shown[12:], rgb[12:].astype(float), 0.0
    elif name == "cmyk_lzw.tif":
        expected, tolerance = rgb.astype(float), 0.0  # lossless
    else:
        expected, tolerance = rgb.astype(float), 12.0  # JPEG / palette losses
    assert np.abs(shown - expected).mean() <= tolerance, name


def test_source_mode_is_recorded(cases):
    assert read_photo(cases["cmyk.jpg"]).source_mode == "CMYK"
    assert read_photo(cases["grey16.png"]).source_mode.startswith("I;16")


@pytest.mark.parametrize("name, reason", [
    ("truncated.jpg", "truncated"), ("text.jpg", "not an image"), ("empty.jpg", "empty file"),
    ("huge_20000.png", "decompression bomb"), ("truncated.tif", "truncated"),
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


# TIFFs of a real photo, in the variants cameras, scanners and editors write. Each must
# decode to the pixels of the same photo saved as PNG (within rounding for 16-bit).

def _tiff(path, array, **kwargs):
    tifffile = pytest.importorskip("tifffile")  # installed with scikit-image (test extra)
    tifffile.imwrite(path, array, **kwargs)


def _pages(path, image):
    image.save(path, save_all=True, append_images=[Image.new("RGB", image.size, (255, 0, 0))])


def _rotated(path, image):
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    image.rotate(90, expand=True).save(path, exif=exif.tobytes())


def _rgba(path, image):
    rgba = np.asarray(image.convert("RGBA")).copy()
    rgba[:8, :, 3] = 0  # the top rows transparent: white
    Image.fromarray(rgba).save(path)


#: name: (writer(path, image, array), what it decodes to: "rgb" or "grey", tolerance, mode)
TIFF_VARIANTS = {
    "rgb.tif": (lambda p, im, a: im.save(p), "rgb", 0, "RGB"),
    "rgb_lzw.tif": (lambda p, im, a: im.save(p, compression="tiff_lzw"), "rgb", 0, "RGB"),
    "rgb_deflate.tiff": (lambda p, im, a: im.save(p, compression="tiff_adobe_deflate"), "rgb", 0,
                         "RGB"),
    "rgb_packbits.tif": (lambda p, im, a: im.save(p, compression="packbits"), "rgb", 0, "RGB"),
    "rgb_jpeg.tif": (lambda p, im, a: im.save(p, compression="jpeg"), "rgb", 12, "RGB"),
    "tiled.tif": (lambda p, im, a: _tiff(p, a, photometric="rgb", tile=(16, 16)), "rgb", 0, "RGB"),
    "planar.tif": (lambda p, im, a: _tiff(p, np.moveaxis(a, -1, 0), photometric="rgb",
                                          planarconfig="separate"), "rgb", 0, "RGB"),
    "grey.tif": (lambda p, im, a: im.convert("L").save(p), "grey", 0, "L"),
    "grey16.tif": (lambda p, im, a: Image.fromarray(_grey(a).astype(np.uint16) * 257).save(p),
                   "grey", 0, "I;16"),
    "grey16_big_endian.tif": (lambda p, im, a: _tiff(p, _grey(a).astype(np.uint16) * 257,
                                                     byteorder=">"), "grey", 0, "I;16B"),
    "rgb16.tif": (lambda p, im, a: _tiff(p, a.astype(np.uint16) * 257 + 100, photometric="rgb"),
                  "rgb", 1, "RGB;16"),
    "rgb16_big_endian_deflate.tif": (
        lambda p, im, a: _tiff(p, a.astype(np.uint16) * 257, photometric="rgb", byteorder=">",
                               compression="zlib"), "rgb", 1, "RGB;16"),
    "rgb16_planar_deflate.tif": (
        lambda p, im, a: _tiff(p, np.moveaxis(a.astype(np.uint16) * 257, -1, 0), photometric="rgb",
                               planarconfig="separate", compression="zlib"), "rgb", 1, "RGB;16"),
    "float.tif": (lambda p, im, a: im.convert("F").save(p), "grey", 0, "F"),
    "float_0_to_1.tif": (lambda p, im, a: _tiff(p, _grey(a).astype(np.float32) / 255), "grey", 1,
                         "F"),
    "cmyk.tif": (lambda p, im, a: im.convert("CMYK").save(p), "rgb", 0, "CMYK"),
    "rgba.tif": (lambda p, im, a: _rgba(p, im), "rgb", 0, "RGBA"),
    "pages.tif": (lambda p, im, a: _pages(p, im), "rgb", 0, "RGB"),
    "rotated_exif.tif": (lambda p, im, a: _rotated(p, im), "rgb", 0, "RGB"),
}


def _grey(array):
    return np.asarray(Image.fromarray(array).convert("L"))


@pytest.fixture(scope="module")
def real_photo(tmp_path_factory):
    """A real photo (the astronaut), 64 x 48, and its PNG decode."""
    from tests.real_photos import real_photos

    with Image.open(real_photos()[0]) as image:
        small = image.convert("RGB").resize((64, 48), Image.BILINEAR)
    png = tmp_path_factory.mktemp("png") / "astronaut.png"
    small.save(png)
    return small, read_photo(png).pixels


@pytest.mark.parametrize("name", sorted(TIFF_VARIANTS))
def test_tiff_variants_decode_to_the_pixels_of_the_png(name, real_photo, tmp_path):
    write, kind, tolerance, mode = TIFF_VARIANTS[name]
    image, png_pixels = real_photo
    write(tmp_path / name, image, np.asarray(image))
    photo = read_photo(tmp_path / name)
    assert photo.source_format == "TIFF" and photo.source_mode == mode
    assert photo.pixels.dtype == np.uint8 and photo.pixels.shape == png_pixels.shape
    expected = png_pixels if kind == "rgb" else np.repeat(_grey(png_pixels)[..., None], 3, -1)
    shown, expected = photo.pixels.astype(int), expected.astype(int)
    if name == "rgba.tif":
        assert (photo.pixels[:8] == 255).all()
        shown, expected = shown[8:], expected[8:]
    if name == "rgb_jpeg.tif":
        assert np.abs(shown - expected).mean() <= tolerance
    else:
        assert np.abs(shown - expected).max() <= tolerance, name


def test_tiff_folder_search_and_bytes_decode_alike(real_photo, tmp_path):
    image, png_pixels = real_photo
    image.save(tmp_path / "a.TIF")
    image.save(tmp_path / "b.tiff", compression="tiff_lzw")
    assert find_images([tmp_path]) == [tmp_path / "a.TIF", tmp_path / "b.tiff"]
    photo = decode_photo((tmp_path / "b.tiff").read_bytes(), "upload/b.tiff")
    assert photo.path == "upload/b.tiff" and photo.source_format == "TIFF"
    np.testing.assert_array_equal(photo.pixels, png_pixels)


def test_a_16_bit_tiff_pillow_would_decode_wrongly_is_refused_by_name(real_photo, tmp_path):
    # Uncompressed 16-bit RGB in separate planes: Pillow 13 reads 8 bits of the wrong
    # samples without a word. Refused, saying what to do.
    array = np.asarray(real_photo[0]).astype(np.uint16) * 257
    _tiff(tmp_path / "planar16.tif", np.moveaxis(array, -1, 0), photometric="rgb",
          planarconfig="separate")
    with pytest.raises(ImageError, match=r"planar16.tif: an uncompressed 16-bit TIFF with "
                                         r"separate colour planes.*Expected"):
        read_photo(tmp_path / "planar16.tif")


def test_a_tiff_layout_pillow_cannot_read_says_so(tmp_path):
    _tiff(tmp_path / "double.tif", np.zeros((8, 8), np.float64))
    with pytest.raises(ImageError, match=r"double.tif: a TIFF Pillow cannot read \(unknown pixel"):
        read_photo(tmp_path / "double.tif")


def _tiff_header(width, height, rows=4):
    """A grey TIFF whose header announces width x height, with only `rows` rows of data."""
    data = b"\0" * (width * rows)
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
            (273, 4, 8 + 2 + 12 * 9 + 4), (277, 3, 1), (278, 4, height), (279, 4, width * height)]
    entries = b"".join(struct.pack("<HHI", tag, kind, 1)
                       + (struct.pack("<H2x", value) if kind == 3 else struct.pack("<I", value))
                       for tag, kind, value in tags)
    return b"II*\0" + struct.pack("<IH", 8, len(tags)) + entries + b"\0\0\0\0" + data


@pytest.mark.parametrize("side, max_pixels, message", [
    (3000, 1_000_000, r"bomb.tif: 3000 x 3000 pixels \(9 MP\) is more than the limit of 1 MP"),
    (12000, 50_000_000, r"bomb.tif: .*decompression bomb"),
    (40000, 50_000_000, r"bomb.tif: .*decompression bomb"),
])
def test_a_tiff_bomb_is_refused_from_its_header(side, max_pixels, message, tmp_path):
    (tmp_path / "bomb.tif").write_bytes(_tiff_header(side, side))
    with pytest.raises(ImageError, match=message):
        read_photo(tmp_path / "bomb.tif", max_pixels=max_pixels)
    with pytest.raises(ImageError, match=message):
        decode_photo(_tiff_header(side, side), "bomb.tif", max_pixels=max_pixels)


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_a_truncated_or_corrupt_tiff_is_named(compression, real_photo, tmp_path):
    path = tmp_path / "cut.tif"
    _tiff(path, np.asarray(real_photo[0]), photometric="rgb", compression=compression)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # tifffile writes the header first
    with pytest.raises(ImageError, match=r"cut.tif: cannot be decoded"):
        read_photo(path)
    path.write_bytes(data[:60])  # the header itself cut short
    with pytest.raises(ImageError, match=r"cut.tif: "):
        read_photo(path)


def test_decode_photo_reads_bytes_as_read_photo_reads_files(cases):
    for name in READABLE:
        from_file = read_photo(cases[name])
        from_bytes = decode_photo(cases[name].read_bytes(), name)
        assert from_bytes.path == name and from_bytes.source_mode == from_file.source_mode
        np.testing.assert_array_equal(from_bytes.pixels, from_file.pixels)
    for name, reason in [("truncated.jpg", "truncated"), ("text.jpg", "not an image"),
                         ("huge_20000.png", "decompression bomb"), ("empty.jpg", "empty file")]:
        with pytest.raises(ImageError, match=f"^member/{name}: .*{reason}"):
            decode_photo(cases[name].read_bytes(), f"member/{name}")
    with pytest.raises(TypeError, match="must be bytes. Received: str"):
        decode_photo("photo.jpg", "photo.jpg")
