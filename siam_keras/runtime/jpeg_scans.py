"""Counting a JPEG's scans before decoding it: a bound on decoding work, not only pixels.

A progressive JPEG codes its image in scans, and a decoder's work grows with their
number whatever the pixel count: a 7000 x 7000 JPEG of 20,000 tiny scans (1.6 MB)
took 171 s to decode, one of 1,000 scans (170 KB) 14.8 s in TensorFlow's decoder,
against 0.41 s for a normal photo. Encoders write 1 scan (baseline) or about 10
(libjpeg's progressive script; mozjpeg's searched scripts stay under 64), so a JPEG
with more than `MAX_JPEG_SCANS` scans is refused unread.

A scan starts with the marker FF DA (start of scan). In the entropy-coded data that
follows a scan header, a byte FF is always followed by 00 (stuffing) or a restart
marker D0-D7, so every FF DA in the file after the frame header is a scan's start;
the header segments before it (EXIF, ICC profiles, thumbnails) are skipped by their
lengths, so their contents never count. `siam_keras`' Pillow path counts them here; the
SavedModel's image-bytes signature counts every FF DA of the file in its graph (the
header's too: it can only count more).
"""

#: Scans a JPEG may have; more is refused before decoding.
MAX_JPEG_SCANS = 100
SOI, SOS = b"\xff\xd8", b"\xff\xda"
#: Markers without a length field (TEM, RSTn, SOI, EOI).
_STANDALONE = {0x01, *range(0xD0, 0xD9)}


def is_jpeg(data):
    """Whether `data` (bytes) starts like a JPEG (SOI then a marker)."""
    return len(data) >= 3 and data[:2] == SOI and data[2] == 0xFF


def count_scans(data):
    """The number of scans (SOS markers) of JPEG bytes `data`; 0 for anything else.

    The header segments are walked by their lengths up to the first scan; from there
    every FF DA is a scan's start. Where the walk meets what is not a marker or a
    length (junk that decoders skip), every FF DA from there on counts: a count that a
    malformed file can only raise, never lower below the scans a decoder would read.
    """
    if not is_jpeg(data):
        return 0
    position, size = 2, len(data)
    while position + 4 <= size:
        marker = data[position + 1]
        if data[position] != 0xFF:
            return data.count(SOS, position)  # not a marker where one must be: resync
        if marker == 0xFF:  # fill bytes before a marker
            position += 1
            continue
        if marker == 0xDA:
            return 1 + data.count(SOS, position + 2)
        if marker in _STANDALONE:
            position += 2
            continue
        length = int.from_bytes(data[position + 2:position + 4], "big")
        if marker < 0xC0 or length < 2 or position + 2 + length > size:
            return data.count(SOS, position)  # no marker segment there: resync
        position += 2 + length
    return 0


def refuse_many_scans(data, name):
    """Raises ValueError (the caller's ImageError) for JPEG bytes of more than
    `MAX_JPEG_SCANS` scans; `name` names the file."""
    scans = count_scans(data)
    if scans > MAX_JPEG_SCANS:
        raise ValueError(
            f"{name}: a progressive JPEG of {scans} scans, more than the {MAX_JPEG_SCANS} any "
            "encoder writes; refused without decoding (its decoding time grows with the scans: "
            "a possible denial of service). Save it again as a normal JPEG.")
