"""Decoding a JPEG at the model's scale: 1/2, 1/4 or 1/8 of its size, never below it.

A photo is resized to the model's input anyway (`images.resize_for_model`); libjpeg
can decode a JPEG straight at 1/2, 1/4 or 1/8 of its size (DCT scaling, Pillow's
`Image.draft`) for a fraction of the time. `draft` picks the smallest of those scales
at which the photo is still at least the target size on each side, so the resize that
follows still only downsamples. Other formats are decoded at full size.
"""

from siam_keras.runtime.argument_validation import is_integer

#: The EXIF orientation tag; its values 5-8 (a quarter turn) swap width and height.
ORIENTATION = 0x0112
TRANSPOSED_ORIENTATIONS = (5, 6, 7, 8)


def checked_target_size(target_size):
    """None, or `target_size` (an int: square; or (height, width)) as a pair of ints.

    Raises:
        TypeError: not None, an int or a pair of ints.
        ValueError: a side is not positive.
    """
    if target_size is None:
        return None
    size = (target_size, target_size) if is_integer(target_size) else target_size
    try:
        if isinstance(size, (str, bytes)):
            raise TypeError
        height, width = size
    except (TypeError, ValueError):
        raise TypeError("`target_size` must be None, an int or a (height, width) pair. "
                        f"Received: target_size={target_size!r}") from None
    for value in (height, width):
        if not is_integer(value):
            raise TypeError("`target_size` must be integers (height, width). "
                            f"Received: target_size={target_size!r}")
        if value < 1:
            raise ValueError("`target_size` must be positive (height, width). "
                             f"Received: target_size={target_size!r}")
    return int(height), int(width)


def orientation(image):
    """The EXIF orientation (1-8) of an open Pillow image; 1 if absent, unreadable or not
    one of the eight (an unreadable EXIF block: the photo is not turned either)."""
    try:
        value = image.getexif().get(ORIENTATION, 1)
    except Exception:  # noqa: BLE001  (Pillow's EXIF reader raises many kinds on hostile files)
        return 1
    return value if is_integer(value) and 1 <= value <= 8 else 1


def upright(image, turn):
    """The loaded Pillow `image` turned by EXIF orientation `turn` (1-8), as Pillow's
    `ImageOps.exif_transpose` turns it, without rewriting the EXIF block (which raises
    on tags of unexpected types)."""
    from PIL import Image

    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}.get(turn)
    return image if method is None else image.transpose(method)


def is_transposed(image):
    """Whether the EXIF orientation of an open Pillow image is a quarter turn (5-8)."""
    return orientation(image) in TRANSPOSED_ORIENTATIONS


def draft(image, target_size):
    """Sets an open, not yet loaded Pillow JPEG to decode at 1/2, 1/4 or 1/8 scale.

    Args:
        image: an open Pillow image (any format: only JPEG, and MPO, can draft).
        target_size: None, or the upright (height, width) the pixels will be resized
            to. The stored image is compared with it turned when the EXIF orientation
            is a quarter turn, since the decoder works before the photo is turned.

    Returns:
        `(scale, box)`. `scale`: 1 (full size: no target, not a JPEG, or smaller than
        twice the target on a side), or 2, 4 or 8, the largest at which the decoded
        photo is still at least `target_size` on each side. `box`: None at full size;
        else the whole photo's (left, top, right, bottom) in the upright decoded pixels,
        with fractions: the decoder rounds the size up, so the last row and column of
        blocks (at the right and bottom of the stored image, wherever the EXIF
        orientation turns them) hold less than `scale` pixels of the photo.
    """
    if target_size is None:
        return 1, None
    height, width = target_size
    turn = orientation(image)
    if turn in TRANSPOSED_ORIENTATIONS:
        height, width = width, height
    stored_width, stored_height = image.size
    if stored_width < 2 * width or stored_height < 2 * height:
        return 1, None
    drafted = image.draft(image.mode, (width, height))  # None: this format cannot draft
    if drafted is None:
        return 1, None
    _, (_, _, exact_width, exact_height) = drafted  # the whole photo at the new scale
    scale = round(stored_width / exact_width)
    if scale == 1:
        return 1, None
    return scale, _upright_box(turn, exact_width, exact_height, *image.size)


#: Where `ImageOps.exif_transpose` takes a point (x, y) of a stored image w x h, for
#: each EXIF orientation (its transposition) but 1.
_UPRIGHT = {
    2: lambda x, y, w, h: (w - x, y),  # FLIP_LEFT_RIGHT
    3: lambda x, y, w, h: (w - x, h - y),  # ROTATE_180
    4: lambda x, y, w, h: (x, h - y),  # FLIP_TOP_BOTTOM
    5: lambda x, y, w, h: (y, x),  # TRANSPOSE
    6: lambda x, y, w, h: (h - y, x),  # ROTATE_270: a quarter turn clockwise
    7: lambda x, y, w, h: (h - y, w - x),  # TRANSVERSE
    8: lambda x, y, w, h: (y, w - x),  # ROTATE_90: a quarter turn anticlockwise
}


def _upright_box(turn, exact_width, exact_height, width, height):
    """The box (0, 0, exact_width, exact_height) of a stored width x height image, once
    turned upright by EXIF orientation `turn`."""
    to_upright = _UPRIGHT.get(turn, lambda x, y, w, h: (x, y))
    corners = [to_upright(x, y, width, height) for x, y in ((0, 0), (exact_width, exact_height))]
    (x0, y0), (x1, y1) = corners
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
