"""The images export needs: calibration (int8) and held-out images (fidelity)."""

from pathlib import Path

import numpy as np

from siam_keras.runtime.images import (
    IMAGE_SUFFIXES,
    ImageError,
    find_images,
    read_photo,
    resize_for_model,
)

SYNTHETIC = "synthetic_scenes"


def load_images(source, image_size, count, split, seed=0, log=print):
    """(N, H, W, 3) uint8 pixels at the model's input size.

    Args:
        source: `"synthetic_scenes"` (the split of the built-in dataset, generated
            from `seed` as training did) or a folder of images (searched
            recursively; unreadable files are skipped and named).
        image_size: (height, width) of the model's input.
        count: at most this many images (the first ones, in sorted order).
        split: the synthetic split: `"train"` for calibration, `"test"` for fidelity.

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: it holds no readable image.
    """
    height, width = image_size
    if source == SYNTHETIC:
        from siam_keras.data import SyntheticScenes

        if height != width:
            raise ValueError(f"{SYNTHETIC} images are square; the model takes {height} x {width}")
        return SyntheticScenes(image_size=height, seed=seed).generate(split, count)["image"]
    folder = Path(source)
    if not folder.is_dir():
        raise FileNotFoundError(f"Image folder not found: {folder} (give a folder of images, or "
                                f"{SYNTHETIC})")
    images = []
    for path in find_images([folder]):
        if len(images) == count:
            break
        try:
            photo = read_photo(path, target_size=(height, width))  # a large JPEG: at scale
            images.append(resize_for_model(photo, height, width))
        except ImageError as error:
            log(f"skipped {error}")
    if not images:
        raise ValueError(f"No readable images in {folder} (searched recursively for "
                         f"{', '.join(IMAGE_SUFFIXES)})")
    return np.stack(images)
