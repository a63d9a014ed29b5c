import numpy as np
import pytest
from PIL import Image

from siam_keras.runtime.images import ImageError, read_photo, resize_for_model
from siam_keras.runtime.locations import Location
from siam_keras.scoring import ImageItem
from siam_keras.scoring.photo_reader import PhotoReader
from tests.image_cases import BIG_BEN, write_gps_photo
from tests.real_photos import real_photos


def test_a_photo_is_read_as_every_runtime_reads_it():
    path = str(real_photos()[4])  # rocket.jpg, 427 x 640: decoded at the model's scale
    key, pixels = PhotoReader((32, 48))(ImageItem(path, (10.0, 20.0), "rocket"))
    expected = resize_for_model(read_photo(path, target_size=(32, 48)), 32, 48)
    np.testing.assert_array_equal(pixels, expected)
    assert pixels.shape == (32, 48, 3) and pixels.dtype == np.uint8
    assert (key.image, key.json_name, key.source_format) == (path, "rocket", "JPEG")
    assert (key.source_width, key.source_height, key.decode_scale) == (640, 427, 8)
    assert key.location == Location(10.0, 20.0, source="manifest")
    photo = key.photo()  # what the JSON record reports, without pixels
    assert photo.pixels.shape == (427, 640, 3) and photo.pixels.strides[:2] == (0, 0)
    assert (photo.source_width, photo.source_height, photo.decode_scale) == (640, 427, 8)


def test_without_a_manifest_location_the_exif_position_is_used(tmp_path):
    path = write_gps_photo(tmp_path / "ben.jpg", BIG_BEN)
    key, _ = PhotoReader(16)(ImageItem(str(path)))
    assert key.location.source == "exif" and abs(key.location.latitude - 51.50072) < 1e-4
    Image.new("RGB", (20, 10)).save(tmp_path / "plain.png")
    assert PhotoReader(16)(ImageItem(str(tmp_path / "plain.png")))[0].location is None


def test_a_photo_that_cannot_be_used_says_which_and_why(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 no jpeg")
    with pytest.raises(ImageError, match="bad.jpg: cannot be decoded"):
        PhotoReader(32)(ImageItem(str(tmp_path / "bad.jpg")))
    with pytest.raises(FileNotFoundError, match="gone.png: no such file"):
        PhotoReader(32)(ImageItem(str(tmp_path / "gone.png")))
    Image.new("RGB", (300, 300)).save(tmp_path / "big.png")
    with pytest.raises(ImageError, match="more than the limit"):
        PhotoReader(32, max_pixels=1000)(ImageItem(str(tmp_path / "big.png")))
