"""The pixels of the explanation figures, composited in NumPy and Pillow.

Matplotlib resamples and blends every image it draws, and each Axes costs ticks and
spines; the figures therefore draw their photos, overlays, colour strips and
attribute thumbnails here, at the size they are shown, and hand Matplotlib one
image per panel row. The colours are Matplotlib's colour maps, read once as tables.
"""

import functools

import numpy as np

from siam_keras.runtime import colours
from siam_keras.runtime.upsampling import upsample

DIVERGING = "RdBu_r"
MAPS = "magma"
#: Opacity of an attribute's map over its grey photo.
MAP_OPACITY = 0.75
#: Opacity of the largest spatial contribution over the photo (sqrt-scaled below it).
OVERLAY_OPACITY = 0.9


@functools.cache
def colour_table(name, size=256):
    """(size, 3) float32 RGB in [0, 255] of Matplotlib's colour map `name`."""
    import matplotlib

    table = matplotlib.colormaps[name].resampled(size)(np.arange(size))[:, :3] * 255.0
    table = table.astype("float32")
    table.setflags(write=False)
    return table


def coloured(values, name, low, high):
    """(H, W) values -> (H, W, 3) float32 colours of map `name` over [low, high]."""
    table = colour_table(name)
    position = (np.asarray(values, dtype="float32") - low) * ((len(table) - 1) / (high - low))
    return table[np.clip(np.rint(position), 0, len(table) - 1).astype(np.intp)]


def resized(photo, width, height):
    """(H, W, 3) uint8 resized to width x height (Pillow): antialiased when reducing,
    bicubic when enlarging, and pixels kept square from 3x on, as Matplotlib shows a
    small image (a 64 px training image stays legible as such)."""
    from PIL import Image

    photo = np.asarray(photo, dtype=np.uint8)
    if photo.shape[:2] == (height, width):
        return photo
    image = Image.fromarray(photo)
    if width < photo.shape[1]:
        return np.asarray(image.resize((width, height), Image.LANCZOS, reducing_gap=3.0))
    enlarged = Image.NEAREST if width >= 3 * photo.shape[1] else Image.BICUBIC
    return np.asarray(image.resize((width, height), enlarged))


def display_photo(photo, max_side):
    """(H, W, 3) uint8 reduced so its longest side is <= max_side (never enlarged)."""
    photo = np.asarray(photo, dtype=np.uint8)
    height, width = photo.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return photo
    return resized(photo, max(1, round(width * scale)), max(1, round(height * scale)))


def fitted_size(height, width, box_width, box_height):
    """(width, height) of a height x width photo scaled to fit the box, aspect kept."""
    scale = min(box_width / width, box_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def contribution_overlay(photo, spatial, limit):
    """(H, W, 3) uint8: the photo under its (h, w) signed spatial contributions, opaque
    where they are large and clear where they are near 0 (colour scale +-limit)."""
    height, width = photo.shape[:2]
    values = upsample(spatial, height, width)
    alpha = OVERLAY_OPACITY * np.sqrt(np.clip(np.abs(values) / limit, 0.0, 1.0))[..., None]
    blended = photo * (1.0 - alpha) + coloured(values, DIVERGING, -limit, limit) * alpha
    return np.rint(blended).astype(np.uint8)


def colour_strip(name, width, height):
    """(height, width, 3) uint8: colour map `name` from left to right."""
    row = coloured(np.linspace(0.0, 1.0, width), name, 0.0, 1.0)
    return np.broadcast_to(np.rint(row).astype(np.uint8), (height, width, 3))


def attribute_thumbnail(grey, attribute_map, peak):
    """(H, W, 3) uint8: an (h, w) attribute map over the (H, W) grey photo, on the
    colour scale 0 (dark) .. `peak` (bright) shared by the image's thumbnails."""
    height, width = grey.shape
    shown = coloured(upsample(attribute_map, height, width), MAPS, 0.0, peak)
    blended = grey[..., None] * (1.0 - MAP_OPACITY) + shown * MAP_OPACITY
    return np.rint(blended).astype(np.uint8)


def framed(pixels, frame_width, colour, pad):
    """`pixels` inside a frame `frame_width` px wide of colour (R, G, B), itself
    centred in `pad` px of white on every side (so thumbnails line up)."""
    height, width = pixels.shape[:2]
    out = np.full((height + 2 * pad, width + 2 * pad, 3), 255, dtype=np.uint8)
    edge = pad - frame_width
    out[edge : edge + height + 2 * frame_width, edge : edge + width + 2 * frame_width] = colour
    out[pad : pad + height, pad : pad + width] = pixels
    return out


def thumbnail_row(photo, attribute_maps, contributions, peak, largest, slot_width, box,
                  max_frame):
    """(h + 2 max_frame, slot_width * N, 3) uint8: N framed thumbnails side by side, each
    the photo fitted (aspect kept) in `box`, h px high.

    Args:
        photo: (H, W, 3) uint8, shown grey under every map.
        attribute_maps: N (h, w) maps, on one colour scale 0 .. `peak`.
        contributions: N contributions: the frames' colour (`colours.sign_colour`,
            grey when printed as 0.00) and width (1 .. max_frame px by |c| / largest).
        slot_width: px per thumbnail (its frame and the gap to the next included).
        box: (width, height) the thumbnail fits into, aspect kept.
    """
    width, height = fitted_size(*photo.shape[:2], *box)
    grey = resized(photo, width, height).mean(axis=-1, dtype="float32")
    row = np.full((height + 2 * max_frame, slot_width * len(attribute_maps), 3), 255, np.uint8)
    for n, (attribute_map, c) in enumerate(zip(attribute_maps, contributions)):
        frame = max(1, round(1 + (max_frame - 1) * abs(c) / largest))
        colour = colours.sign_colour(c, largest, decimals=2)
        tile = framed(attribute_thumbnail(grey, attribute_map, peak), frame, colour, max_frame)
        left = n * slot_width + (slot_width - tile.shape[1]) // 2
        row[:, left : left + tile.shape[1]] = tile
    return row
