"""The awkward image files every image reader must handle, written into a folder.

`write_image_cases(folder, rgb)` writes each case from one (H, W, 3) uint8 image and
returns {case: path}; `READABLE` and `UNREADABLE` say which must decode and which
must be reported by name. `write_gps_photo` writes a photo with an EXIF GPS position
(`BIG_BEN`, `SYDNEY`: degrees, minutes, seconds as a camera writes them).
"""

import struct
import zlib

import numpy as np
from PIL import Image, TiffImagePlugin

READABLE = ("cmyk.jpg", "grey16.png", "rgba.png", "rotated_exif.jpg", "palette.png", "grey.webp",
            "large.jpg", "cmyk_lzw.tif", "grey16_deflate.tiff")
UNREADABLE = ("truncated.jpg", "text.jpg", "empty.jpg", "huge_20000.png", "truncated.tif")

_R = TiffImagePlugin.IFDRational
#: Big Ben: 51 deg 30' 02.6" N, 0 deg 07' 28.6" W, as an EXIF GPS IFD.
BIG_BEN = {1: "N", 2: (_R(51), _R(30), _R(26, 10)), 3: "W", 4: (_R(0), _R(7), _R(286, 10))}
#: Sydney Opera House: 33 deg 51' 25.2" S, 151 deg 12' 55.2" E.
SYDNEY = {1: "S", 2: (_R(33), _R(51), _R(252, 10)), 3: "E", 4: (_R(151), _R(12), _R(552, 10))}


def write_gps_photo(path, gps, pixels=None):
    """A photo at `path` (format from the suffix; 40 x 30 green unless `pixels`) whose
    EXIF GPS IFD is `gps`."""
    exif = Image.Exif()
    exif[0x8825] = gps
    image = Image.new("RGB", (40, 30), (40, 120, 60)) if pixels is None else Image.fromarray(pixels)
    extra = {"quality": 95} if path.suffix.lower() in (".jpg", ".jpeg") else {}
    image.save(path, exif=exif.tobytes(), **extra)
    return path


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_header(path, side=20000):
    """A PNG whose header announces side x side grey pixels, with a few rows of data:
    a reader that decodes before checking the size fails (or runs out of memory)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (side + 1) * 4)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", rows)
                     + _png_chunk(b"IEND", b""))


def _uncompressed_tiff(image):
    """An uncompressed TIFF with its header first (Pillow writes it last): cut in half,
    the header is whole and the pixels are not."""
    width, height = image.size
    pixels = image.convert("RGB").tobytes()
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 2),
            (273, 4, 0), (277, 3, 3), (278, 4, height), (279, 4, len(pixels))]
    data_offset = 8 + 2 + 12 * len(tags) + 4 + 6  # BitsPerSample's three values follow
    entries = b""
    for tag, kind, value in tags:
        if tag == 258:
            entries += struct.pack("<HHII", tag, kind, 3, data_offset - 6)
        else:
            value = data_offset if tag == 273 else value
            packed = struct.pack("<H2x", value) if kind == 3 else struct.pack("<I", value)
            entries += struct.pack("<HHI", tag, kind, 1) + packed
    return (b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(tags)) + entries
            + struct.pack("<I", 0) + struct.pack("<HHH", 8, 8, 8) + pixels)


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
    image.convert("CMYK").save(paths["cmyk_lzw.tif"], compression="tiff_lzw")
    Image.fromarray(grey).save(paths["grey16_deflate.tiff"], compression="tiff_adobe_deflate")
    tiff = _uncompressed_tiff(image)
    paths["truncated.tif"].write_bytes(tiff[: len(tiff) // 2])
    paths["text.jpg"].write_text("this is a text file, not a JPEG\n")
    paths["empty.jpg"].write_bytes(b"")
    huge_png_header(paths["huge_20000.png"])
    return paths
