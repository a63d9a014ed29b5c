"""`PhotoReader`: one `ImageItem` -> the model's pixels and the `ImageKey` that travels with them.

Runs in the pipeline's workers. Local files are read with
`siam_keras.runtime.images.read_photo`, URIs (gs://, ...) through `tf.io.gfile`, at most
`max_bytes` of them, and decoded with `decode_photo`: the checks of every runtime
(decompression bombs refused from the header, every Pillow mode, EXIF orientation), a
large JPEG decoded at the model's scale, then `resize_for_model`. What is kept of the
photo besides its pixels is small (`ImageKey`): its name, where it was taken (the
manifest's location, else its EXIF GPS position) and what its JSON record reports.
"""

import dataclasses

import numpy as np

from siam_keras.runtime.images import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    Photo,
    decode_photo,
    read_photo,
    resize_for_model,
)
from siam_keras.runtime.locations import Location, exif_location
from siam_keras.runtime.uris import is_uri

#: The most bytes read from a URI for one photo (a 50 MP JPEG is about 25 MB).
DEFAULT_MAX_BYTES = 100_000_000


@dataclasses.dataclass(frozen=True)
class ImageKey:
    """What travels with a photo's pixels through the pipeline.

    Attributes:
        image: its path or URI.
        location: a `Location` (the manifest's, or the EXIF GPS position) or None.
        json_name: its JSON file's name (without `.json`), or None.
        source_format, source_mode, source_width, source_height, decode_scale: the
            file's, as its JSON record reports them (`Photo`).
    """

    image: str
    location: Location | None
    json_name: str | None
    source_format: str
    source_mode: str
    source_width: int
    source_height: int
    decode_scale: int = 1

    def photo(self):
        """A pixel-less `Photo` of the file, for `explanation_record` (its size is the
        file's; the pixels, never read, are a broadcast view of one black pixel)."""
        pixels = np.broadcast_to(np.zeros((1, 1, 3), np.uint8),
                                 (self.source_height, self.source_width, 3))
        return Photo(path=self.image, pixels=pixels, source_mode=self.source_mode,
                     source_format=self.source_format, source_width=self.source_width,
                     source_height=self.source_height, decode_scale=self.decode_scale)


class PhotoReader:
    """Reads an `ImageItem`'s photo at a model's input size.

    Args:
        image_size: the model's (height, width).
        max_pixels: larger photos are refused from their header, not decoded.
        max_bytes: the most bytes read from a URI for one photo.

    Call arguments:
        item: an `ImageItem`.

    Returns:
        `(ImageKey, pixels)`, pixels (height, width, 3) uint8.

    Raises:
        FileNotFoundError: the photo does not exist.
        ImageError: it cannot be used; the message names it and says why.
    """

    def __init__(self, image_size, max_pixels=DEFAULT_MAX_PIXELS, max_bytes=DEFAULT_MAX_BYTES):
        height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.image_size = (int(height), int(width))
        self.max_pixels, self.max_bytes = max_pixels, max_bytes

    def __call__(self, item):
        photo = self.read(item.image)
        if item.location is not None:
            location = Location(*item.location)
        else:
            found = exif_location(photo)
            location = None if found is None else Location(*found, source="exif")
        key = ImageKey(item.image, location, item.json_name, photo.source_format,
                       photo.source_mode, int(photo.source_width), int(photo.source_height),
                       int(photo.decode_scale))
        return key, resize_for_model(photo, *self.image_size)  # the photo's exact extent

    def read(self, image):
        """The `Photo` of a path or URI, decoded at the model's scale."""
        if not is_uri(image):
            return read_photo(image, self.max_pixels, self.image_size)
        import tensorflow as tf

        try:
            with tf.io.gfile.GFile(image, "rb") as file:
                data = file.read(self.max_bytes + 1)
        except tf.errors.NotFoundError:
            raise FileNotFoundError(f"{image}: no such file") from None
        except tf.errors.OpError as error:
            reason = " ".join(error.message.split())
            raise ImageError(f"{image}: cannot be read ({reason})") from None
        if len(data) > self.max_bytes:
            raise ImageError(f"{image}: more than {self.max_bytes:,} bytes; refused (raise "
                             "--max-bytes to accept it)")
        return decode_photo(data, image, self.max_pixels, self.image_size)
