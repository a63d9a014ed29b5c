"""Hostile photos: whatever a file holds, reading it gives a `Photo` or an `ImageError`.

Pillow's readers raise more than OSError on odd files: an EXIF tag of an unexpected type
beside a turning orientation made `ImageOps.exif_transpose` raise AttributeError,
TypeError or OverflowError, which escaped the reader and stopped every command on one
844-byte JPEG. These tests write EXIF blocks by hand (Pillow refuses to write most of
them) and damage valid files of every format, and check that nothing else escapes.
"""

import io
import struct

import numpy as np
import pytest
from PIL import Image

from siam_keras.runtime.images import ImageError, decode_photo
from siam_keras.runtime.jpeg_scans import MAX_JPEG_SCANS, count_scans
from siam_keras.runtime.locations import exif_location

#: TIFF field types and their sizes (0, 13 and 99 are not types: readers must cope).
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8, 11: 4, 12: 8, 0: 1, 13: 4, 99: 1}
TAGS = (0x010F, 0x0110, 0x011A, 0x0128, 0x0131, 0x0132, 0x0213, 0x8769, 0x8825, 0xA005, 0x0112)
COUNTS = (0, 1, 2, 7, 1000, 2**31 - 1)


def exif_block(entries):
    """A little-endian EXIF block (b"Exif\\0\\0" + TIFF header + one IFD) of raw
    (tag, type, count, value bytes) entries, values past 4 bytes stored after the IFD."""
    header = b"II*\x00" + struct.pack("<I", 8)
    ifd_size = 2 + 12 * len(entries) + 4
    data, fields = b"", b""
    for tag, kind, count, value in sorted(entries):
        if len(value) <= 4:
            field = value.ljust(4, b"\x00")
        else:
            field = struct.pack("<I", 8 + ifd_size + len(data))
            data += value
        fields += struct.pack("<HHI", tag, kind, count) + field
    return b"Exif\x00\x00" + header + struct.pack("<H", len(entries)) + fields + b"\0" * 4 + data


def _variants(rng):
    for orientation in (6, 1, 8, 9):
        for tag in TAGS:
            for kind, size in TYPE_SIZES.items():
                count = int(rng.choice(COUNTS))
                value = rng.bytes(int(min(max(count, 1) * size, 64)))
                entries = [(tag, kind, count, value)]
                if tag != 0x0112:
                    entries.append((0x0112, 3, 1, struct.pack("<H", orientation)))
                yield orientation, tag, kind, count, exif_block(entries)


def _jpeg(exif=None, size=(16, 8), **options):
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 10))
    image.save(buffer, "JPEG", **({"exif": exif} if exif is not None else {}), **options)
    return buffer.getvalue()


def _read(data, name):
    """decode_photo at full size and at a reduced one; only ImageError may escape."""
    for target in (None, 4):
        try:
            photo = decode_photo(data, name, target_size=target)
        except ImageError:
            continue
        assert photo.pixels.dtype == np.uint8 and photo.pixels.ndim == 3


def test_the_reported_jpeg_make_as_rational_with_orientation_6_is_read_upright():
    exif = exif_block([(0x010F, 5, 1, struct.pack("<II", 3, 2)), (0x0112, 3, 1, b"\x06\x00")])
    data = _jpeg(exif)
    photo = decode_photo(data, "make_rational.jpg")
    assert photo.pixels.shape == (16, 8, 3)  # turned a quarter, as its orientation says


@pytest.mark.slow
def test_exif_blocks_of_every_tag_type_and_count_never_escape_as_other_errors(tmp_path):
    rng = np.random.default_rng(0)
    tried = 0
    for orientation, tag, kind, count, exif in _variants(rng):
        data = _jpeg(exif)
        _read(data, f"exif_{orientation}_{tag:x}_{kind}_{count}.jpg")
        path = tmp_path / "photo.jpg"
        path.write_bytes(data)
        exif_location(path)  # None or a location, never an exception
        tried += 1
    assert tried == 4 * len(TAGS) * len(TYPE_SIZES)


def _containers():
    image = Image.fromarray(np.random.default_rng(1).integers(0, 255, (12, 10, 3), np.uint8))
    for fmt, options in (("JPEG", {}), ("JPEG", {"progressive": True}), ("PNG", {}),
                         ("WEBP", {}), ("TIFF", {}), ("TIFF", {"compression": "tiff_lzw"}),
                         ("GIF", {}), ("BMP", {})):
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        yield fmt, buffer.getvalue()


@pytest.mark.slow
def test_damaged_files_of_every_format_give_a_photo_or_an_image_error():
    """Bytes flipped in the headers, files cut short, chunks repeated: 250 each."""
    rng = np.random.default_rng(2)
    for fmt, data in _containers():
        for trial in range(250):
            damaged = bytearray(data)
            kind = trial % 3
            if kind == 0:
                for _ in range(int(rng.integers(1, 6))):
                    damaged[int(rng.integers(0, min(len(damaged), 96)))] = int(rng.integers(0, 256))
            elif kind == 1:
                damaged = damaged[:int(rng.integers(1, len(damaged)))]
            else:
                start = int(rng.integers(0, len(damaged) - 8))
                damaged[start:start] = damaged[start:start + int(rng.integers(1, 64))] * 3
            _read(bytes(damaged), f"damaged_{trial}.{fmt.lower()}")


def _many_scans(extra):
    """A progressive JPEG with its last scan repeated `extra` more times (decoders read
    each one: a refinement scan applied again)."""
    data = _jpeg(size=(64, 64), progressive=True)
    last, end = data.rindex(b"\xff\xda"), data.rindex(b"\xff\xd9")
    return data[:end] + data[last:end] * extra + data[end:]


def test_scans_are_counted_from_the_markers_not_the_header_segments():
    baseline = _jpeg()
    assert count_scans(baseline) == 1
    assert count_scans(_jpeg(size=(64, 64), progressive=True)) > 1
    # FF DA bytes inside an APP segment (an EXIF block) are not scans.
    exif = exif_block([(0x010F, 2, 40, b"\xff\xda" * 20)])
    assert count_scans(_jpeg(exif)) == 1
    assert count_scans(b"\x89PNG\r\n\x1a\n" + b"\xff\xda" * 300) == 0


def test_a_jpeg_of_thousands_of_scans_is_refused_before_decoding():
    data = _many_scans(2 * MAX_JPEG_SCANS)
    assert count_scans(data) > MAX_JPEG_SCANS
    with pytest.raises(ImageError, match=r"progressive JPEG of \d+ scans"):
        decode_photo(data, "scans.jpg")
    normal = _jpeg(size=(64, 64), progressive=True)
    assert decode_photo(normal, "progressive.jpg").pixels.shape == (64, 64, 3)


def test_junk_between_the_header_segments_does_not_hide_the_scans():
    """Decoders skip a stray byte before a marker; the count must not stop there."""
    data = _many_scans(2 * MAX_JPEG_SCANS)
    app0_end = 4 + int.from_bytes(data[4:6], "big")  # SOI, then APP0's marker and length
    for junk in (b"\x00", b"\x00\x00\x12", b"\xff\xff\x00"):
        padded = data[:app0_end] + junk + data[app0_end:]
        assert count_scans(padded) > MAX_JPEG_SCANS
        with pytest.raises(ImageError, match="scans"):
            decode_photo(padded, "padded.jpg")


def test_max_pixels_admits_what_pillows_own_limit_refused(tmp_path):
    """--max-pixels 200000000 still met Pillow's limit (179 MP) and Pillow's message."""
    from siam_keras.runtime.images import read_photo
    from tests.image_cases import huge_png_header

    huge_png_header(tmp_path / "huge.png", side=14000)  # 196 MP, a few rows of data
    with pytest.raises(ImageError, match="more than the limit of 50 MP"):
        read_photo(tmp_path / "huge.png")
    photo = read_photo(tmp_path / "huge.png", max_pixels=200_000_000)  # admitted, decoded
    assert photo.pixels.shape == (14000, 14000, 3)
    with pytest.raises(ImageError, match=r"196 MP\)? is more than the limit of 100 MP"):
        read_photo(tmp_path / "huge.png", max_pixels=100_000_000)
