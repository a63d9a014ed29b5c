"""`opened_image`: the one way siam-keras opens an image file (Pillow only).

Every reader (`images.read_photo` and `decode_photo`, which every runtime uses: Keras,
LiteRT, the SavedModel client, Beam, training; the test vectors; the EXIF location
reader) opens images here, so that each gets the same bounds and the same errors:

- a JPEG of more than `MAX_JPEG_SCANS` scans is refused unread (its decoding time grows
  with its scans, whatever its pixels: `siam_keras.runtime.jpeg_scans`);
- an image whose header announces more than `max_pixels` is refused before decoding
  (decompression bombs);
- **any** exception a decoder raises inside the block becomes an `ImageError` naming
  the file: Pillow's plugins raise more than their documented OSError on hostile files
  (AttributeError, TypeError, OverflowError, MemoryError, ... were seen), and one image
  must never stop a batch.

No `warnings.catch_warnings()` here: it swaps the process-wide filters, and photos are
read on several threads. `max_pixels` (50 MP by default) refuses before Pillow would
warn (89 MP); past twice that, Pillow raises DecompressionBombError itself.
"""

import contextlib
import io
import re

from siam_keras.runtime.jpeg_scans import is_jpeg, refuse_many_scans

_TIFF_MAGIC = (b"II*\0", b"MM\0*")


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and the reason."""


def reason_without_name(message, name):
    """An error's message without the "<name>: " it starts with (where a table or a
    result names the image already)."""
    prefix = f"{name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


@contextlib.contextmanager
def opened_image(source, name, max_pixels=None):
    """Yields the Pillow image of `source` (a path or a binary file object), checked as
    the module docstring says; errors, in the block too, are `ImageError`s naming `name`.

    Args:
        source: the file.
        name: what the file is called in errors.
        max_pixels: refuse larger images from their header (None: no limit, for readers
            of headers only).
    """
    from PIL import Image, UnidentifiedImageError

    if max_pixels is not None and Image.MAX_IMAGE_PIXELS is not None \
            and max_pixels > Image.MAX_IMAGE_PIXELS:
        # Pillow refuses images over twice its own limit (89 MP) before ours is checked:
        # a larger limit asked for is raised there too (process-wide, only ever upwards).
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        source = _bounded_source(source, name)
        with Image.open(source) as image:
            width, height = image.size
            if max_pixels is not None and width * height > max_pixels:
                raise ImageError(
                    f"{name}: {width} x {height} pixels ({_megapixels(width * height)}) is "
                    f"more than the limit of {_megapixels(max_pixels)}; refused without "
                    "decoding (a possible decompression bomb). Raise --max-pixels to accept it.")
            yield image
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        found = re.search(r"\((\d+) pixels\)", str(error))  # Pillow's check, before ours
        size = _megapixels(int(found.group(1))) if found else "its size"
        limit = f"the limit of {_megapixels(max_pixels)}" if max_pixels else "Pillow's limit"
        raise ImageError(f"{name}: {size} is more than {limit}; refused without decoding (a "
                         "possible decompression bomb). Raise --max-pixels to accept it.") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: {_unreadable(source)}") from None
    except Exception as error:  # noqa: BLE001  (any decoder failure is this image's, see above)
        raise ImageError(f"{name}: cannot be decoded ({type(error).__name__}: "
                         f"{error})") from None


def _bounded_source(source, name):
    """`source`, or its bytes (a JPEG: read once, for `refuse_many_scans` and the
    decoder); raises ImageError for a JPEG of too many scans."""
    if isinstance(source, io.BytesIO):
        data = source.getvalue()
    elif hasattr(source, "read"):
        data = source.read()
        source = io.BytesIO(data)
    else:
        with open(source, "rb") as file:
            if not is_jpeg(file.read(3)):
                file.seek(0)
                return source
            file.seek(0)
            data = file.read()
        source = io.BytesIO(data)
    try:
        refuse_many_scans(data, name)
    except ValueError as error:
        raise ImageError(str(error)) from None
    return source


def _unreadable(source):
    """Why Pillow did not recognise `source`: for a TIFF, what its reader said."""
    from PIL import TiffImagePlugin

    if isinstance(source, io.BytesIO):
        source.seek(0)
        magic = source.read(4)
    else:
        with open(source, "rb") as file:
            magic = file.read(4)
    if magic in _TIFF_MAGIC:
        if isinstance(source, io.BytesIO):
            source.seek(0)
        try:
            TiffImagePlugin.TiffImageFile(source).close()  # (no thread-unsafe warning filters)
        except Exception as error:  # noqa: BLE001  (what the TIFF reader says, whatever it is)
            return (f"a TIFF Pillow cannot read ({error or type(error).__name__}; e.g. 64-bit "
                    "or colour floating-point samples, or a corrupt header)")
    return "not an image Pillow can read (unknown or corrupt format)"


def _megapixels(pixels):
    """"51 MP", "0.3 MP", or "1000 pixels" below 0.1 MP (a small limit never reads "0 MP")."""
    if pixels >= 1_000_000:
        return f"{pixels / 1e6:.0f} MP"
    return f"{pixels / 1e6:.1f} MP" if pixels >= 100_000 else f"{pixels} pixels"
