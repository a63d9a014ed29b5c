import shutil

import numpy as np
import pytest
from PIL import Image

from siam_keras.data import load_images, read_manifests
from siam_keras.runtime.images import read_photo, resize_for_model
from tests.real_photos import real_photos


def manifest_rows(folder, images):
    """Rows of a manifest listing `images` (references as written), each with trees = 1."""
    path = folder / "photos.csv"
    path.write_text("image,trees\n" + "".join(f"{image},1\n" for image in images), encoding="utf-8")
    rows, problems = read_manifests(path, "image", ["trees"], {})
    assert not problems
    return path, rows


def pillow_jpeg(path, size=(48, 40), seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=90)
    return path


def test_real_photos_are_resized_as_every_runtime_does_in_row_order(tmp_path):
    (tmp_path / "photos").mkdir()
    names = []
    for i, photo in enumerate(real_photos()):
        shutil.copy(photo, tmp_path / "photos" / f"{i}_ü{photo.suffix}")
        names.append(f"photos/{i}_ü{photo.suffix}")
    pillow_jpeg(tmp_path / "photos" / "pillow.jpg")
    names.append("photos/pillow.jpg")
    calls = []
    _, rows = manifest_rows(tmp_path, names)
    pixels, kept, problems = load_images(rows, 32, workers=3, progress=lambda *a: calls.append(a))
    assert not problems and kept == rows
    assert pixels.shape == (len(names), 32, 32, 3) and pixels.dtype == np.uint8
    for row, image in zip(rows, pixels):
        photo = read_photo(row.image, target_size=(32, 32))  # a JPEG at the model's scale
        np.testing.assert_array_equal(image, resize_for_model(photo, 32))
    assert calls == [(i, len(names)) for i in range(1, len(names) + 1)]
    pixels, _, _ = load_images(rows[:2], (24, 40))
    assert pixels.shape == (2, 24, 40, 3)


def test_a_large_jpeg_is_decoded_at_the_models_scale(tmp_path):
    with Image.open(real_photos()[0]) as image:  # the astronaut, 512 x 512
        image.convert("RGB").resize((800, 600), Image.LANCZOS).save(tmp_path / "big.jpg",
                                                                    quality=90)
    _, rows = manifest_rows(tmp_path, ["big.jpg"])
    pixels, _, _ = load_images(rows, (32, 48))
    drafted = read_photo(tmp_path / "big.jpg", target_size=(32, 48))
    assert drafted.decode_scale == 8  # 800 x 600 -> 100 x 75, still above 48 x 32
    np.testing.assert_array_equal(pixels[0], resize_for_model(drafted, 32, 48))
    full = resize_for_model(read_photo(tmp_path / "big.jpg").pixels, 32, 48)
    assert not np.array_equal(pixels[0], full)
    assert np.abs(pixels[0].astype(int) - full).mean() <= 2.5


def test_bad_images_are_problems_naming_file_line_and_image(tmp_path):
    pillow_jpeg(tmp_path / "good.jpg")
    pillow_jpeg(tmp_path / "big.jpg", size=(300, 200))
    (tmp_path / "text.jpg").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    data = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "folder.jpg").mkdir()
    path, rows = manifest_rows(tmp_path, ["good.jpg", "missing.jpg", "text.jpg", "empty.png",
                                          "cut.jpg", "big.jpg", "folder.jpg", "good2.jpg"])
    shutil.copy(tmp_path / "good.jpg", tmp_path / "good2.jpg")
    pixels, kept, problems = load_images(rows, 16, max_pixels=10_000, workers=2)
    assert [row.line for row in kept] == [2, 9] and pixels.shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(pixels[0], pixels[1])
    messages = [str(p) for p in problems]
    assert [m.split(": image ")[0] for m in messages] == [f"{path}:{n}" for n in range(3, 9)]
    assert messages[0] == f"{path}:3: image {tmp_path / 'missing.jpg'}: no such file"
    assert messages[1].endswith("text.jpg: not an image Pillow can read (unknown or corrupt "
                                "format)")
    assert messages[2].endswith("empty.png: empty file (0 bytes)")
    assert "cut.jpg: cannot be decoded" in messages[3]
    assert "big.jpg: 300 x 200 pixels" in messages[4] and "refused without decoding" in messages[4]
    assert messages[5] == f"{path}:8: image {tmp_path / 'folder.jpg'}: no such file"


def test_uris_are_read_through_gfile_within_the_byte_limit(tmp_path):
    tf = pytest.importorskip("tensorflow")
    data = pillow_jpeg(tmp_path / "a.jpg").read_bytes()
    for name, content in (("a.jpg", data), ("bad.jpg", b"GIF89a nonsense")):
        with tf.io.gfile.GFile(f"ram://manifest_test/{name}", "wb") as file:
            file.write(content)
    _, rows = manifest_rows(tmp_path, ["ram://manifest_test/a.jpg", "ram://manifest_test/bad.jpg",
                                       "ram://manifest_test/none.jpg", "a.jpg"])
    pixels, kept, problems = load_images(rows, 16)
    assert [row.line for row in kept] == [2, 5]
    np.testing.assert_array_equal(pixels[0], pixels[1])
    assert [str(p).split(": image ", 1)[1] for p in problems] == [
        "ram://manifest_test/bad.jpg: not an image Pillow can read (unknown or corrupt format)",
        "ram://manifest_test/none.jpg: no such file"]
    _, _, problems = load_images(rows[:1], 16, max_bytes=len(data) - 1)
    assert problems[0].message == (f"image ram://manifest_test/a.jpg: more than {len(data) - 1:,} "
                                   "bytes; refused (raise max_bytes to accept it)")


def test_arguments_are_checked_and_no_rows_is_an_empty_batch():
    pixels, kept, problems = load_images([], 8)
    assert pixels.shape == (0, 8, 8, 3) and kept == [] and problems == []
    for arguments, message in (({"image_size": 0}, "image_size=0"), ({"image_size": (8, -1)},
                               r"image_size=\(8, -1\)"), ({"workers": 0}, "workers=0"),
                               ({"max_bytes": 1.5}, "max_bytes=1.5")):
        with pytest.raises(ValueError, match=rf"must be a positive integer\. Received: {message}"):
            load_images([], **{"image_size": 8, **arguments})
