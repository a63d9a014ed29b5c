"""`write_example_photos`: a folder of JPEG photos and a manifest, to try the `manifest`
source with (the README's "Train on your own photos").

The photos are `synthetic_scenes` images, so their true rule is known: attribute
columns for the 8 concepts (graded like votes), a regression column (`scenicness`)
and a classification column (`landscape`: coast, forest, town or highlands), plus
where each photo was "taken" (latitude and longitude columns, also written into
each JPEG's EXIF GPS tags). No split column: the manifest source splits by hash.
"""

import csv
import os
from pathlib import Path

import numpy as np

from siam_keras import vocabulary
from siam_keras.data.synthetic_scenes import LANDSCAPE, LANDSCAPE_CLASSES, SyntheticScenes
from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.atomic import atomic_output

MANIFEST = "photos.csv"
PHOTOS = "photos"
#: The example's outputs and their kinds (a manifest's `[data.manifest.outputs]`).
OUTPUTS = {vocabulary.SCENICNESS: "regression", LANDSCAPE: "classification"}
#: Photos are scattered over this box (latitude, longitude): the Swiss plateau.
AREA = ((46.5, 47.5), (6.5, 9.5))
JPEG_QUALITY = 92
#: The fewest photos written: fewer leave a split of the hashed 80/10/10 split empty.
MIN_IMAGES = 10


def _gps_exif(latitude, longitude):
    """A Pillow `Exif` whose GPS IFD holds the position (degrees, minutes, seconds)."""
    from PIL import Image, TiffImagePlugin

    def dms(value):
        value = abs(value)
        degrees, minutes = int(value), int(abs(value) * 60) % 60
        seconds = round((value * 3600) % 60, 4)
        return tuple(TiffImagePlugin.IFDRational(v) for v in (degrees, minutes, seconds))

    exif = Image.Exif()
    exif[0x8825] = {1: "N" if latitude >= 0 else "S", 2: dms(latitude),
                    3: "E" if longitude >= 0 else "W", 4: dms(longitude)}
    return exif


def write_example_photos(out_dir, num_images=600, image_size=64, seed=0):
    """Writes `num_images` JPEGs into `out_dir/photos/` and the manifest `out_dir/photos.csv`.

    Returns:
        The manifest's path.

    Raises:
        FileExistsError: `out_dir` holds a manifest already (nothing is overwritten).
        ValueError: `num_images` < `MIN_IMAGES` (too few for three splits).
    """
    from PIL import Image

    num_images = positive_int("num_images", num_images, minimum=MIN_IMAGES)
    out = Path(out_dir)
    if (out / MANIFEST).exists():
        raise FileExistsError(f"{out / MANIFEST} exists already; choose another folder")
    (out / PHOTOS).mkdir(parents=True, exist_ok=True)
    scenes = SyntheticScenes(image_size=image_size, seed=seed, outputs=tuple(OUTPUTS))
    rng = np.random.default_rng([seed, 7])
    header = ["image", *scenes.attribute_names, *OUTPUTS, "latitude", "longitude"]
    rows = []
    for start in range(0, num_images, 100):
        batch = scenes.generate("train", min(100, num_images - start), start=start)
        for i, pixels in enumerate(batch["image"]):
            name = f"{PHOTOS}/scene_{start + i:05d}.jpg"
            latitude, longitude = (rng.uniform(*AREA[0]), rng.uniform(*AREA[1]))
            Image.fromarray(pixels).save(out / name, quality=JPEG_QUALITY,
                                         exif=_gps_exif(latitude, longitude))
            rows.append([name, *(f"{v:.4g}" for v in batch["attributes"][i]),
                         f"{batch[vocabulary.SCENICNESS][i]:.4f}",
                         LANDSCAPE_CLASSES[batch[LANDSCAPE][i]],
                         f"{latitude:.5f}", f"{longitude:.5f}"])
    with atomic_output(out / MANIFEST) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            writer.writerows(rows)
    return os.fspath(out / MANIFEST)
