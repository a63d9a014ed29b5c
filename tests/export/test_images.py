import numpy as np
import pytest
from PIL import Image

from export.images import load_images
from siam_keras.runtime.images import read_photo, resize_for_model
from tests.real_photos import real_photos


def test_folder_images_are_read_as_every_runtime_reads_them(tmp_path):
    with Image.open(real_photos()[0]) as image:  # the astronaut, 512 x 512
        photo = image.convert("RGB")
    photo.resize((800, 600), Image.LANCZOS).save(tmp_path / "a_big.jpg", quality=90)
    photo.save(tmp_path / "b.png")
    (tmp_path / "c_broken.jpg").write_text("not a jpeg")
    skipped = []
    images = load_images(tmp_path, (32, 48), count=5, split="train", log=skipped.append)
    assert images.shape == (2, 32, 48, 3) and images.dtype == np.uint8
    drafted = read_photo(tmp_path / "a_big.jpg", target_size=(32, 48))
    assert drafted.decode_scale == 8  # a large JPEG is decoded at the model's scale
    np.testing.assert_array_equal(images[0], resize_for_model(drafted, 32, 48))
    np.testing.assert_array_equal(images[1], resize_for_model(read_photo(tmp_path / "b.png").pixels,
                                                              32, 48))
    assert len(skipped) == 1 and "c_broken.jpg" in skipped[0]
    with pytest.raises(FileNotFoundError, match="Image folder not found"):
        load_images(tmp_path / "none", (32, 48), count=1, split="train")
