"""Loading a manifest's photos, resized for a model, in a thread pool.

Local files are read with `siam_keras.runtime.images.read_photo`, URIs with a scheme
through `tf.io.gfile` (TensorFlow is imported only when a row has one), at most
`max_bytes` of them, and decoded with `decode_photo`: the same checks either way
(decompression bombs refused from the header, every Pillow mode, EXIF orientation),
and a large JPEG decoded at the model's scale (`target_size`) before it is resized.
The schemes are those TensorFlow's file systems know: gs:// (and ram://) built in,
s3:// or hdfs:// with tensorflow-io; http(s):// is not one of them, so such a row is
a problem that says so. A photo that cannot be used becomes a `RowProblem` naming the
manifest file, the line and the image.
"""

import concurrent.futures

import numpy as np

from siam_keras.data.manifest.reading import RowProblem
from siam_keras.runtime.argument_validation import is_integer, positive_int
from siam_keras.runtime.images import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    decode_photo,
    read_photo,
    resize_for_model,
)
from siam_keras.runtime.uris import is_uri

#: The most bytes read from a URI for one photo (a 50 MP JPEG is about 25 MB).
DEFAULT_MAX_BYTES = 100_000_000
DEFAULT_WORKERS = 4


def load_images(rows, image_size, max_pixels=DEFAULT_MAX_PIXELS, max_bytes=DEFAULT_MAX_BYTES,
                workers=DEFAULT_WORKERS, progress=None):
    """Reads and resizes every row's photo; returns `(pixels, rows, problems)`.

    Args:
        rows: `ManifestRow`s (from `read_manifests`).
        image_size: the model's input size: an int (square) or (height, width).
        max_pixels: larger photos are refused from their header, not decoded.
        max_bytes: the most bytes read from a URI for one photo.
        workers: threads reading photos at once.
        progress: None, or `progress(done, total)`, called after each photo.

    Returns:
        pixels: (N, height, width, 3) uint8, the whole photo resized (not cropped).
        rows: the N rows whose photo was read, in their order.
        problems: a `RowProblem` for each row left out: a photo missing, unreadable,
            not an image, corrupt, or too large.

    Raises:
        ValueError: `image_size`, `max_pixels`, `max_bytes` or `workers` is not positive.
    """
    height, width = _image_size(image_size)
    max_pixels = positive_int("max_pixels", max_pixels)
    max_bytes = positive_int("max_bytes", max_bytes)
    workers = positive_int("workers", workers)
    rows = list(rows)
    gfile = _gfile() if any(is_uri(row.image) for row in rows) else None

    def load(row):
        try:
            photo = (_read_uri(gfile, row.image, max_pixels, max_bytes, (height, width))
                     if is_uri(row.image) else read_photo(row.image, max_pixels, (height, width)))
            return resize_for_model(photo, height, width), None
        except (ImageError, FileNotFoundError) as error:  # their messages name the image
            return None, f"image {error}"
        except (OSError, ValueError) as error:
            return None, f"image {row.image}: cannot be read ({error})"

    pixels = np.empty((len(rows), height, width, 3), dtype=np.uint8)
    kept, problems = [], []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    try:
        for done, (row, (photo, problem)) in enumerate(zip(rows, pool.map(load, rows)), 1):
            if problem is None:
                pixels[len(kept)] = photo
                kept.append(row)
            else:
                problems.append(RowProblem(row.source, row.line, problem))
            if progress is not None:
                progress(done, len(rows))
    finally:  # an interrupt or a failing callback stops the photos not started yet
        pool.shutdown(cancel_futures=True)
    if len(kept) < len(rows):
        pixels.resize((len(kept), height, width, 3), refcheck=False)  # in place: no copy
    return pixels, kept, problems


def _image_size(image_size):
    """(height, width) of an int or a pair; raises ValueError naming `image_size` whole."""
    sides = (image_size, image_size) if is_integer(image_size) else tuple(image_size)
    if len(sides) != 2 or not all(is_integer(side) and side >= 1 for side in sides):
        # Raises (a pair, or an int < 1, is never a positive integer), showing the
        # argument as given: "... Received: image_size=(8, -1)".
        positive_int("image_size", image_size)
    return tuple(map(int, sides))


def _gfile():
    """tf.io.gfile, imported on first use (TensorFlow takes seconds to import)."""
    import tensorflow as tf

    return tf.io.gfile, tf.errors


def _read_uri(gfile, uri, max_pixels, max_bytes, target_size):
    """A photo read from a URI through tf.io.gfile, at most `max_bytes` of it."""
    files, errors = gfile
    try:
        with files.GFile(uri, "rb") as file:
            data = file.read(max_bytes + 1)
    except errors.NotFoundError:
        raise FileNotFoundError(f"{uri}: no such file") from None
    except errors.OpError as error:
        raise ImageError(f"{uri}: cannot be read ({' '.join(error.message.split())})") from None
    if len(data) > max_bytes:
        raise ImageError(f"{uri}: more than {max_bytes:,} bytes; refused (raise max_bytes to "
                         "accept it)")
    return decode_photo(data, uri, max_pixels, target_size)
