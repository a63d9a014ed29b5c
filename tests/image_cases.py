"""The awkward image files every image reader must handle, written into a folder.

`write_image_cases(folder, rgb)` writes each case from one (H, W, 3) uint8 image and
returns {case: path}; `READABLE` and `UNREADABLE` say which must decode and which
must be reported by name.
"""

import struct
import zlib

import numpy as np
from PIL import Image

READABLE = ("cmyk.jpg", "grey16.png", "rgba.png", "rotated_exif.jpg", "palette.png", "grey.webp",
            "large.jpg")
UNREADABLE = ("truncated.jpg", "text.jpg", "empty.jpg", "huge_20000.png")


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_header(path, side=20000):
    """A PNG whose header announces side x side grey pixels, with a few rows of data:
    a reader that decodes before checking the size fails (or runs out of memory)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (side + 1) * 4)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", rows)
                     + _png_chunk(b"IEND", b""))


def write_image_cases(folder, rgb):
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(rgb)
    paths = {name: folder / name for name in READABLE + UNREADABLE}
    image.convert("CMYK").save(paths["cmyk.jpg"], quality=95)
    grey = np.asarray(image.convert("L")).astype(np.uint16) * 257
    Image.fromarray(grey).save(paths["grey16.png"])
    rgba = np.asarray(image.convert("RGBA")).copy()
    rgba[: rgb.shape[0] // 4, :, 3] = 0  # top quarter transparent
    Image.fromarray(rgba).save(paths["rgba.png"])
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was rotated: show rotated 90 degrees clockwise
    image.rotate(90, expand=True).save(paths["rotated_exif.jpg"], exif=exif.tobytes(), quality=95)
    image.convert("P", palette=Image.ADAPTIVE).save(paths["palette.png"])
    image.convert("L").save(paths["grey.webp"])
    image.resize((rgb.shape[1] * 12, rgb.shape[0] * 9), Image.BICUBIC).save(paths["large.jpg"])
    image.save(folder / "full.jpg", quality=95)
    data = (folder / "full.jpg").read_bytes()
    paths["truncated.jpg"].write_bytes(data[: len(data) // 2])
    (folder / "full.jpg").unlink()
    paths["text.jpg"].write_text("this is a text file, not a JPEG\n")
    paths["empty.jpg"].write_bytes(b"")
    huge_png_header(paths["huge_20000.png"])
    return paths
