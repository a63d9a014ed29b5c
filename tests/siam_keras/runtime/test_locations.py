import json
import math
import struct

import pytest
from PIL import Image, TiffImagePlugin

from siam_keras.runtime.images import read_photo
from siam_keras.runtime.locations import (
    Location,
    exif_location,
    gps_location,
    location_feature,
    write_locations,
)
from tests.image_cases import BIG_BEN, SYDNEY, write_gps_photo

R = TiffImagePlugin.IFDRational


def raw_exif_jpeg(path, gps_entries, gps_offset=None):
    """A JPEG whose EXIF GPS IFD holds `gps_entries` [(tag, type, count, value bytes)] as
    given, whatever their types: what a broken camera or a forger writes."""
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_offset or 26) + b"\0" * 4
    data_start = 26 + 2 + 12 * len(gps_entries) + 4
    entries, data = b"", b""
    for tag, kind, count, value in gps_entries:
        if len(value) <= 4:
            entries += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            entries += struct.pack("<HHII", tag, kind, count, data_start + len(data))
            data += value
    gps = struct.pack("<H", len(gps_entries)) + entries + b"\0" * 4
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd0 + gps + data
    Image.new("RGB", (40, 30), (40, 120, 60)).save(path, exif=b"Exif\0\0" + tiff)
    return path


def rationals(*pairs):
    return struct.pack(f"<{2 * len(pairs)}I", *[n for pair in pairs for n in pair])


def test_degrees_minutes_seconds_become_signed_decimal_degrees(tmp_path):
    latitude, longitude = exif_location(write_gps_photo(tmp_path / "ben.jpg", BIG_BEN))
    assert latitude == pytest.approx(51 + 30 / 60 + 2.6 / 3600, abs=1e-7)
    assert longitude == pytest.approx(-(7 / 60 + 28.6 / 3600), abs=1e-7)  # west: negative
    latitude, longitude = exif_location(write_gps_photo(tmp_path / "sydney.jpg", SYDNEY))
    assert latitude == pytest.approx(-(33 + 51 / 60 + 25.2 / 3600), abs=1e-7)  # south
    assert longitude == pytest.approx(151 + 12 / 60 + 55.2 / 3600, abs=1e-7)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_every_format_path_image_and_photo_give_the_same_location(suffix, tmp_path):
    path = write_gps_photo(tmp_path / f"photo{suffix}", SYDNEY)
    expected = exif_location(path)
    assert expected is not None and expected[0] < 0 < expected[1]
    with Image.open(path) as image:
        assert exif_location(image) == expected
    photo = read_photo(path)
    assert exif_location(photo) == expected  # from the decode, no second read


def test_no_exif_or_no_gps_is_none(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "plain.jpg")
    exif = Image.Exif()
    exif[0x0110] = "Camera"
    Image.new("RGB", (8, 8)).save(tmp_path / "camera.jpg", exif=exif.tobytes())
    (tmp_path / "notes.jpg").write_text("not an image")
    for name in ("plain.jpg", "camera.jpg", "notes.jpg"):
        assert exif_location(tmp_path / name) is None, name
    assert read_photo(tmp_path / "plain.jpg").gps is None
    with pytest.raises(FileNotFoundError, match="missing.jpg: no such file"):
        exif_location(tmp_path / "missing.jpg")


@pytest.mark.parametrize("gps", [
    {**BIG_BEN, 2: (R(51, 0), R(30), R(0))},  # a zero denominator
    {**BIG_BEN, 2: (R(91), R(0), R(0))},  # latitude over 90
    {**BIG_BEN, 4: (R(181), R(0), R(0))},  # longitude over 180
    {**BIG_BEN, 2: (R(51), R(75), R(0))},  # 75 minutes
    {**BIG_BEN, 1: "X"},  # no such hemisphere
    {2: BIG_BEN[2], 4: BIG_BEN[4]},  # no N/S, E/W: the sign is unknown
    {1: "N", 2: BIG_BEN[2]},  # no longitude
    {**BIG_BEN, 9: "V"},  # the receiver marked the fix void
    {1: "N", 2: (R(0), R(0), R(0)), 3: "E", 4: (R(0), R(0), R(0))},  # 0, 0: no fix
], ids=["zero-denominator", "lat-91", "lon-181", "75-minutes", "ref-X", "no-refs", "no-lon",
        "void", "null-island"])
def test_unusable_gps_data_is_none_and_the_photo_still_decodes(gps, tmp_path):
    path = write_gps_photo(tmp_path / "bad.jpg", gps)
    assert exif_location(path) is None
    assert exif_location(read_photo(path)) is None
    assert read_photo(path).pixels.shape == (30, 40, 3)


@pytest.mark.parametrize("entries, gps_offset", [
    ([(1, 2, 2, b"N\0"), (2, 2, 5, b"51.5\0"), (3, 2, 2, b"W\0"),
      (4, 5, 3, rationals((0, 1), (7, 1), (30, 1)))], None),  # latitude as text
    ([(1, 3, 1, b"\x4e\0"), (2, 5, 3, rationals((51, 1), (30, 1), (0, 1))), (3, 2, 2, b"W\0"),
      (4, 5, 3, rationals((0, 1), (7, 1), (30, 1)))], None),  # the ref as a number
    ([(1, 2, 2, b"N\0"), (2, 5, 4, rationals((51, 1), (30, 1), (0, 1), (9, 1))), (3, 2, 2, b"W\0"),
      (4, 5, 3, rationals((0, 1), (7, 1), (30, 1)))], None),  # four components
    ([(1, 2, 2, b"N\0"), (2, 10, 3, struct.pack("<6i", -51, 1, 30, 1, 0, 1)), (3, 2, 2, b"W\0"),
      (4, 5, 3, rationals((0, 1), (7, 1), (30, 1)))], None),  # negative degrees
    ([(1, 2, 2, b"N\0"), (2, 5, 3000, b"")], None),  # values beyond the end of the file
    ([(1, 2, 2, b"N\0")], 10_000),  # the GPS IFD beyond the end of the file
], ids=["text-latitude", "numeric-ref", "four-components", "negative", "past-end", "bad-offset"])
def test_malformed_gps_blocks_are_none_never_an_exception(entries, gps_offset, tmp_path):
    path = raw_exif_jpeg(tmp_path / "forged.jpg", entries, gps_offset)
    assert exif_location(path) is None
    photo = read_photo(path)
    assert exif_location(photo) is None and photo.pixels.shape == (30, 40, 3)


def test_a_well_formed_raw_block_is_read(tmp_path):
    # The hand-written EXIF above is right when its values are: the cases fail for them.
    path = raw_exif_jpeg(tmp_path / "raw.jpg", [
        (1, 2, 2, b"N\0"), (2, 5, 3, rationals((51, 1), (30, 1), (0, 1))), (3, 2, 2, b"W\0"),
        (4, 5, 3, rationals((0, 1), (7, 1), (30, 1)))])
    assert exif_location(path) == (51.5, -0.125)


@pytest.mark.parametrize("gps", [None, "N", [], {2: object(), 1: "N"}, {1: "N", 2: math.nan}])
def test_gps_location_of_anything_else_is_none(gps):
    assert gps_location(gps) is None


def test_location_checks_values_from_a_manifest():
    assert Location("51.5007", " -0.1246 ").to_json() == {
        "latitude": 51.5007, "longitude": -0.1246, "source": "manifest"}
    assert Location(-90, 180, source="exif").source == "exif"
    with pytest.raises(ValueError, match=r"from -90 to 90. Received: latitude=90.5"):
        Location(90.5, 0)
    with pytest.raises(ValueError, match=r"from -180 to 180. Received: longitude=-181.0"):
        Location(0, -181)
    with pytest.raises(ValueError, match=r"Received: latitude=nan"):
        Location(math.nan, 0)
    with pytest.raises(ValueError, match=r"number of degrees. Received: longitude='east'"):
        Location(0, "east")
    with pytest.raises(TypeError, match=r"Received: latitude=True of type bool"):
        Location(True, 0)
    with pytest.raises(ValueError, match=r"one of manifest, exif. Received: source='gps'"):
        Location(0, 0, source="gps")


def test_geojson_is_a_feature_collection_with_longitude_first(tmp_path):
    features = [location_feature(Location(-33.8570, 151.2153), {"image": "sydney.jpg"}),
                location_feature(Location(51.5007, -0.1246, "exif"), {"image": "ben.jpg"})]
    write_locations(tmp_path / "map.geojson", features)
    collection = json.loads((tmp_path / "map.geojson").read_text())
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 2
    first = collection["features"][0]
    assert first["type"] == "Feature" and first["geometry"]["type"] == "Point"
    assert first["geometry"]["coordinates"] == [151.2153, -33.857]  # [longitude, latitude]
    assert first["properties"] == {"image": "sydney.jpg"}
    assert not list(tmp_path.glob(".*"))  # written atomically: no temporary file left


def test_an_exif_block_pillow_cannot_parse_is_none(tmp_path):
    # Pillow's EXIF parser raises struct.error and friends on some broken blocks.
    with Image.open(write_gps_photo(tmp_path / "photo.jpg", BIG_BEN)) as image:
        assert exif_location(image) is not None

        def broken():
            raise struct.error("unpack requires a buffer of 12 bytes")

        image.getexif = broken
        assert exif_location(image) is None
