import dataclasses
import struct

import numpy as np
import pytest
from PIL import Image

from siam_keras.runtime.images import (
    ImageError,
    Photo,
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


# Decoding at the model's scale: a JPEG at least twice the target size is decoded at
# 1/2, 1/4 or 1/8 scale (libjpeg), never below the target, then resized as always.

def _large(tmp_path, name, size=(2000, 1500), orientation=None, **save):
    """A real photo (the astronaut) resized to `size` (width, height), saved as `name`
    (with an EXIF `orientation` if given)."""
    from tests.real_photos import real_photos

    with Image.open(real_photos()[0]) as image:
        large = image.convert("RGB").resize(size, Image.LANCZOS)
    if name.endswith(".jpg"):
        save.setdefault("quality", 90)
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        save["exif"] = exif.tobytes()
    large.save(tmp_path / name, **save)
    return tmp_path / name


@pytest.fixture(scope="module")
def large_jpeg(tmp_path_factory):
    return _large(tmp_path_factory.mktemp("large"), "large.jpg")


def _mean_difference(a, b):
    return np.abs(a.astype(int) - b.astype(int)).mean()


def test_a_large_jpeg_is_decoded_at_the_models_scale_with_nearly_the_same_pixels(large_jpeg):
    full = read_photo(large_jpeg)
    for photo in (read_photo(large_jpeg, target_size=(64, 64)),
                  decode_photo(large_jpeg.read_bytes(), "large.jpg", target_size=64)):
        assert photo.decode_scale == 8 and photo.pixels.shape == (188, 250, 3)  # 2000 / 8
        assert (photo.source_width, photo.source_height) == (2000, 1500)  # the file's size
        assert photo.box == (0, 0, 250, 187.5)  # 1500 / 8: the last row is half a block
        drafted, expected = resize_for_model(photo, 64), resize_for_model(full, 64)
        assert drafted.shape == expected.shape == (64, 64, 3)
        assert _mean_difference(drafted, expected) <= 1.0  # measured: 0.33 grey levels
    assert full.decode_scale == 1 and full.pixels.shape == (1500, 2000, 3) and full.box is None
    assert (full.source_width, full.source_height) == (2000, 1500)


def test_a_photo_made_by_hand_is_its_pixels(rgb):
    photo = Photo(path="scene", pixels=rgb, source_mode="RGB", source_format="PNG")
    assert (photo.source_width, photo.source_height, photo.decode_scale) == (48, 48, 1)
    np.testing.assert_array_equal(resize_for_model(photo, 32), resize_for_model(rgb, 32))


@pytest.mark.parametrize("target_size, scale", [
    ((750, 64), 2), ((751, 64), 1), ((64, 1000), 2), ((64, 1001), 1), ((375, 500), 4),
    ((187, 250), 8), ((1500, 2000), 1), ((3000, 4000), 1),
])
def test_the_decoded_jpeg_is_never_smaller_than_the_target(target_size, scale, large_jpeg):
    # Drafted only when the photo is at least twice the target on each side.
    photo = read_photo(large_jpeg, target_size=target_size)
    assert photo.decode_scale == scale
    assert photo.pixels.shape[:2] == (-(-1500 // scale), -(-2000 // scale))
    assert photo.pixels.shape[0] >= min(target_size[0], 1500)
    assert photo.pixels.shape[1] >= min(target_size[1], 2000)
    if scale == 1:
        np.testing.assert_array_equal(photo.pixels, read_photo(large_jpeg).pixels)


def test_a_quarter_turned_jpeg_is_drafted_for_its_upright_size(tmp_path):
    # Stored 1500 wide x 2000 tall, shown turned (EXIF 6) as 2000 x 1500. For a target
    # of 400 x 64 (height x width), the upright 1500 rows allow 1/2 scale only; taking
    # the stored 2000 rows would decode at 1/4: 375 rows, fewer than the model's 400.
    path = _large(tmp_path, "turned.jpg", size=(1500, 2000), orientation=6)
    photo = read_photo(path, target_size=(400, 64))
    assert photo.decode_scale == 2 and photo.pixels.shape == (750, 1000, 3)
    assert (photo.source_width, photo.source_height) == (2000, 1500)
    full = read_photo(path)
    assert full.pixels.shape == (1500, 2000, 3)
    assert _mean_difference(resize_for_model(photo, 400, 64),
                            resize_for_model(full, 400, 64)) <= 1.0  # measured 0.21
    small = read_photo(path, target_size=(64, 64))
    assert small.decode_scale == 8 and small.pixels.shape == (188, 250, 3)  # upright


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_resized_from_the_photos_exact_box(orientation, tmp_path):
    # 1003 x 751 at 1/4: 251 x 188 pixels, the last column and row a quarter of the
    # photo's; each orientation puts them on another side, where the box leaves them out.
    path = _large(tmp_path, "odd.jpg", size=(1003, 751), orientation=orientation)
    photo, full = read_photo(path, target_size=(100, 100)), read_photo(path)
    upright = (1003, 751) if orientation < 5 else (751, 1003)
    assert photo.decode_scale == 4 and (photo.source_width, photo.source_height) == upright
    assert photo.pixels.shape[1::-1] == (-(-upright[0] // 4), -(-upright[1] // 4))
    expected = resize_for_model(full, 100)
    assert _mean_difference(resize_for_model(photo, 100), expected) <= 0.8  # measured 0.56
    without_box = dataclasses.replace(photo, box=None)  # the partial blocks taken as whole
    assert _mean_difference(resize_for_model(without_box, 100), expected) >= 1.2  # 1.52
    if photo.box[:2] != (0, 0):  # turned: the partial blocks at the left or top
        unturned = dataclasses.replace(photo, box=(0, 0, *np.subtract(photo.box[2:], photo.box[:2])))
        assert _mean_difference(resize_for_model(unturned, 100), expected) >= 1.5  # 1.86-2.50


@pytest.mark.parametrize("name, save", [
    ("large.png", {}), ("large.webp", {"quality": 90}), ("large.tif", {"compression": "jpeg"}),
])
def test_other_formats_are_decoded_at_full_size(name, save, tmp_path):
    path = _large(tmp_path, name, size=(1000, 750), **save)
    photo = read_photo(path, target_size=(64, 64))
    assert photo.decode_scale == 1 and photo.box is None and photo.pixels.shape == (750, 1000, 3)
    np.testing.assert_array_equal(photo.pixels, read_photo(path).pixels)


@pytest.mark.parametrize("target_size, error, message", [
    (0, ValueError, "must be positive"), ((64, -1), ValueError, "must be positive"),
    ((64.0, 64), TypeError, "must be integers"), ("64", TypeError, "a \\(height, width\\) pair"),
    ((1, 2, 3), TypeError, "a \\(height, width\\) pair"),
])
def test_a_bad_target_size_is_refused(target_size, error, message, large_jpeg):
    with pytest.raises(error, match=f"{message}.*Received: target_size="):
        read_photo(large_jpeg, target_size=target_size)
    with pytest.raises(error, match=message):
        decode_photo(b"\xff\xd8", "photo.jpg", target_size=target_size)


@pytest.mark.slow
def test_a_12_megapixel_jpeg_is_decoded_for_the_model_several_times_faster(tmp_path):
    import time

    path = _large(tmp_path, "12mp.jpg", size=(4000, 3000))

    def best_of_3(**kwargs):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            resize_for_model(read_photo(path, **kwargs), 450)
            times.append(time.perf_counter() - start)
        return min(times)

    full, drafted = best_of_3(), best_of_3(target_size=(450, 450))
    assert full >= 4 * drafted, f"full decode {full:.3f} s, at the model's scale {drafted:.3f} s"
