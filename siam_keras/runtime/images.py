"""Reading photos for a model: any JPEG, PNG, WebP or TIFF, safely (Pillow and NumPy only).

Shared by `siam explain` and the edge runtime, so that both feed a model the very
same pixels. Handles every Pillow mode (grey, palette, RGBA, CMYK, 16-bit, float),
applies the EXIF orientation, composites transparency over white, and refuses
images whose header announces more than `max_pixels` before decoding anything
(decompression bombs). A TIFF of several pages is read from its first page.

Given the model's input size (`target_size`), a JPEG at least twice that size on
each side is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, Pillow's
`Image.draft`; `siam_keras.runtime.decode_scale`): still at least `target_size`, so
`resize_for_model` only ever downsamples it, 12-19 times faster for 12-48 MP photos
(`benchmarks/decode_at_scale.py`).
"""

import dataclasses
import io
import os
from pathlib import Path

import numpy as np

from siam_keras.runtime.decode_scale import (
    checked_target_size,
    draft,
    is_transposed,
    orientation,
    upright,
)
from siam_keras.runtime.image_opening import ImageError, opened_image

#: Largest image decoded by default: 50 megapixels (an 8660 x 5773 photo).
DEFAULT_MAX_PIXELS = 50_000_000
#: Suffixes picked up when a folder is given (files named explicitly are always tried).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")
#: Resampling of the resize to the model's input: Pillow's antialiased bilinear.
RESAMPLING = "BILINEAR"
#: Transparent pixels are composited over this colour.
BACKGROUND = (255, 255, 255)
#: The EXIF tag of the GPS IFD (`siam_keras.runtime.locations` reads it).
GPS_IFD = 0x8825


@dataclasses.dataclass(frozen=True)
class Photo:
    """A decoded photo.

    Attributes:
        path: where it was read from.
        pixels: (H, W, 3) uint8 RGB, upright (EXIF orientation applied).
        source_mode: Pillow's mode of the file (e.g. "CMYK", "I;16", "RGBA"); 16-bit
            colour TIFFs, which Pillow reads as 8-bit, are "RGB;16" (or "RGBA;16", ...).
        source_format: "JPEG", "PNG", "WEBP", "TIFF", ...
        gps: the file's EXIF GPS IFD as Pillow reads it ({tag number: value}), None
            when it has none (`siam_keras.runtime.locations.exif_location` reads it).
        source_width, source_height: the upright size of the photo in the file (what
            a record reports), whatever the scale it was decoded at; by default the
            size of `pixels`.
        decode_scale: 1, or 2, 4 or 8 when the JPEG was decoded at that fraction of
            its size for a model's `target_size` (`pixels` are then about
            `source_width / decode_scale` wide).
        box: None, or for a photo decoded at a reduced scale the whole photo's (left,
            top, right, bottom) in `pixels`, with fractions (the decoder rounds the size
            up: the last blocks hold less than `decode_scale` pixels of the photo);
            `resize_for_model(photo, ...)` resizes exactly that region.
    """

    path: str
    pixels: np.ndarray
    source_mode: str
    source_format: str
    gps: dict | None = None
    source_width: int | None = None
    source_height: int | None = None
    decode_scale: int = 1
    box: tuple | None = None

    def __post_init__(self):  # a Photo made from pixels: their size is the source's
        if self.source_width is None:
            object.__setattr__(self, "source_width", int(np.shape(self.pixels)[1]))
        if self.source_height is None:
            object.__setattr__(self, "source_height", int(np.shape(self.pixels)[0]))

    def source_json(self):
        """The photo as the file holds it: an explanation record's "source"."""
        return {"format": self.source_format, "mode": self.source_mode,
                "width": self.source_width, "height": self.source_height,
                "decode_scale": self.decode_scale}


def _to_rgb(image):
    """Any Pillow image -> (H, W, 3) uint8 RGB."""
    from PIL import Image

    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        grey = np.asarray(image, dtype=np.uint16).astype("float32") / 257.0
        return np.repeat(np.round(grey).astype(np.uint8)[..., None], 3, axis=-1)
    if mode in ("I", "F"):
        values = np.nan_to_num(np.asarray(image, dtype="float64"), posinf=0.0, neginf=0.0)
        # 32-bit integer PNGs and TIFFs hold 16-bit data; floats are taken as 0-1 when
        # none is above 1 (float TIFFs), else as 0-255.
        top = values.max(initial=0)
        scale = (257.0 if top > 255 else 1.0) if mode == "I" else (1 / 255 if top <= 1 else 1.0)
        grey = np.clip(np.round(values / scale), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def read_photo(path, max_pixels=DEFAULT_MAX_PIXELS, target_size=None):
    """Decodes an image file into an upright RGB `Photo`.

    Args:
        path: the image file.
        max_pixels: larger images are refused from their header, not decoded.
        target_size: None (decode at full size), or the (height, width) (an int:
            square) the pixels will be resized to, e.g. the model's input: a JPEG at
            least twice that size on each side (upright) is then decoded at 1/2, 1/4
            or 1/8 scale, never below `target_size` (`Photo.decode_scale` says which).

    Raises:
        FileNotFoundError: if `path` does not exist.
        ImageError: for anything else: not an image, truncated or corrupt, empty,
            or larger than `max_pixels` (refused from its header, not decoded).
        ValueError, TypeError: `target_size` is not positive integers.
    """
    target_size = checked_target_size(target_size)
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    return _decode(path, path, max_pixels, target_size)


def decode_photo(data, name, max_pixels=DEFAULT_MAX_PIXELS, target_size=None):
    """Decodes encoded image bytes (any format `read_photo` reads) into a `Photo`.

    Args:
        data: the file's bytes (`bytes`, `bytearray` or `memoryview`).
        name: what the photo is called in errors and in `Photo.path` (a file
            name, an archive member, a URL).
        max_pixels: larger images are refused from their header, not decoded.
        target_size: None, or the (height, width) the pixels will be resized to
            (as for `read_photo`: a large JPEG is decoded at a reduced scale).

    Raises:
        TypeError: `data` is not bytes.
        ImageError: empty, not an image, truncated or corrupt, or too large.
        ValueError, TypeError: `target_size` is not positive integers.
    """
    target_size = checked_target_size(target_size)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name}: image data must be bytes. Received: {type(data).__name__}")
    if len(data) == 0:
        raise ImageError(f"{name}: empty file (0 bytes)")
    return _decode(io.BytesIO(data), os.fspath(name), max_pixels, target_size)


def _decode(source, name, max_pixels, target_size=None):
    """Opens `source` (a path or a file object) with `opened_image` and decodes it;
    every error is an `ImageError` naming `name`."""
    with opened_image(source, name, max_pixels) as image:
        width, height = image.size
        source_mode, source_format = _source_mode(image, name), image.format or "unknown"
        if is_transposed(image):
            width, height = height, width
        decode_scale, box = draft(image, target_size)
        image.load()
        gps = exif_gps(image)
        # Read after loading, as Pillow's exif_transpose does: a TIFF reader turns the
        # pixels itself while loading and drops the tag.
        pixels = _to_rgb(upright(image, orientation(image)))
    return Photo(path=name, pixels=pixels, source_mode=source_mode, source_format=source_format,
                 gps=gps, source_width=width, source_height=height, decode_scale=decode_scale,
                 box=box)


def _source_mode(image, name):
    """Pillow's mode, with ";16" for the 16-bit colour TIFFs Pillow reads as 8-bit.

    Raises ImageError for the one TIFF layout Pillow decodes wrongly without a word:
    uncompressed 16-bit colour in separate planes."""
    if image.format != "TIFF" or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image.mode
    bits = image.tag_v2.get(258, (8,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    if max(bits, default=8) <= 8:
        return image.mode
    planar = image.tag_v2.get(284, 1) == 2
    if planar and any(tile[0] == "raw" for tile in image.tile):
        raise ImageError(
            f"{name}: an uncompressed {max(bits)}-bit TIFF with separate colour planes, which "
            "Pillow cannot decode correctly. Expected 8-bit, interleaved or compressed "
            "(LZW, deflate) 16-bit TIFF; save it again as one of those.")
    return f"{image.mode};{max(bits)}"


def exif_gps(image):
    """The EXIF GPS IFD of an open Pillow image as a plain dict, None if absent or unreadable."""
    try:
        gps = dict(image.getexif().get_ifd(GPS_IFD))
    except Exception:  # noqa: BLE001  (a photo's broken GPS block never stops it being explained)
        return None
    return gps or None


def resize_for_model(pixels, height, width=None):
    """(H, W, 3) uint8 or a `Photo` -> (height, width, 3) uint8, as every siam-keras
    runtime feeds a model.

    The whole photo is resized (not cropped) to the model's input, with Pillow's
    antialiased bilinear filter, as the paper resizes its photos. Give the `Photo` of
    a JPEG decoded at a reduced scale (`read_photo(..., target_size=...)`): its `box`
    (the photo's exact extent in the pixels) is what is resized.
    """
    from PIL import Image

    width = height if width is None else width
    box = pixels.box if isinstance(pixels, Photo) else None
    pixels = np.asarray(pixels.pixels if isinstance(pixels, Photo) else pixels, dtype=np.uint8)
    if pixels.shape[:2] == (height, width) and box is None:
        return pixels
    # Two calls, the horizontal pass first: one call lets recent Pillow (seen in 12.3 and
    # 13.0) start with the vertical pass for tall images, a grey level apart; so every
    # Pillow and the web page (resize.js) give the same bytes. The first call runs no
    # vertical pass, the second no horizontal one.
    left, top, right, bottom = box or (0, 0, pixels.shape[1], pixels.shape[0])
    filter_ = getattr(Image, RESAMPLING)
    rows = Image.fromarray(pixels).resize((width, pixels.shape[0]), filter_,
                                          box=(left, 0, right, pixels.shape[0]))
    resized = rows.resize((width, height), filter_, box=(0, top, width, bottom))
    return np.asarray(resized, dtype=np.uint8)


def pixel_batch(images, image_size):
    """(B, H, W, 3) float32 pixels for a model taking `image_size`, from a batch or one image.

    Raises:
        ValueError: the shape is not (batch, H, W, 3) (or (H, W, 3)).
        TypeError: the values are not numbers.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    expected = (*image_size, 3)
    if images.ndim != 4 or images.shape[1:] != expected:
        raise ValueError(
            f"Images must be (batch, {expected[0]}, {expected[1]}, 3) RGB pixels, the "
            f"model's input size. Received: shape {images.shape}"
        )
    if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
        raise TypeError(f"Images must hold numbers (0-255). Received: dtype {images.dtype}")
    return images.astype("float32", copy=False)


def find_images(paths, exclude=()):
    """Expands files and folders (recursively, `IMAGE_SUFFIXES` only) into a sorted list.

    Files named explicitly are kept whatever their suffix (and fail later by name
    if they are no image). Files under a folder of `exclude` (e.g. an output folder
    inside an input folder) are not picked up from folders. Raises
    FileNotFoundError naming a path that does not exist.
    """
    excluded = [Path(folder).resolve() for folder in exclude]

    def kept(path):
        resolved = path.resolve()
        return not any(resolved.is_relative_to(folder) for folder in excluded)

    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and kept(p)))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found
