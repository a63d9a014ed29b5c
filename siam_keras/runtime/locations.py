"""Where photos were taken: EXIF GPS positions, checked (latitude, longitude) pairs, GeoJSON.

A location comes from a manifest's columns (checked by `Location`, which raises on bad
values) or from a photo's EXIF GPS block (`exif_location`, which never raises: a
camera's missing, void or malformed GPS data just means no location). Explained photos
with a location are written as a GeoJSON FeatureCollection (RFC 7946: coordinates are
[longitude, latitude], WGS 84) that any map (QGIS, geojson.io, Leaflet) shows.
NumPy-free; Pillow only to read EXIF.
"""

import dataclasses
import math
import numbers
import os

from siam_keras.runtime.atomic import write_json
from siam_keras.runtime.image_opening import ImageError, opened_image
from siam_keras.runtime.images import exif_gps

#: Where a location came from, as the JSON records say.
SOURCES = ("manifest", "exif")
#: GPS IFD tags (EXIF 2.3): latitude ref and value, longitude ref and value, status.
_LATITUDE_REF, _LATITUDE, _LONGITUDE_REF, _LONGITUDE, _STATUS = 1, 2, 3, 4, 9
#: Decimal places kept from EXIF (1e-7 degrees is about a centimetre).
_PLACES = 7


def _degrees(value, name, limit):
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"`{name}` must be a number of degrees. "
                             f"Received: {name}={value!r}") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number of degrees. Received: {name}={value!r} "
                        f"of type {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and -limit <= value <= limit):
        raise ValueError(f"`{name}` must be a number of degrees from -{limit} to {limit}. "
                         f"Received: {name}={value}")
    return value


@dataclasses.dataclass(frozen=True)
class Location:
    """Where a photo was taken, in decimal degrees (WGS 84), checked on creation.

    Args:
        latitude: -90 (south) to 90 (north); a number or a numeric string (a CSV cell).
        longitude: -180 (west) to 180 (east); likewise.
        source: where it came from, one of `SOURCES`.

    Raises:
        ValueError: a value out of range, not finite, or not numeric text; an unknown source.
        TypeError: a value that is not a number or a string.

    Example:
        >>> Location("51.5007", -0.1246).to_json()
        {'latitude': 51.5007, 'longitude': -0.1246, 'source': 'manifest'}
    """

    latitude: float
    longitude: float
    source: str = "manifest"

    def __post_init__(self):
        object.__setattr__(self, "latitude", _degrees(self.latitude, "latitude", 90))
        object.__setattr__(self, "longitude", _degrees(self.longitude, "longitude", 180))
        if self.source not in SOURCES:
            raise ValueError(f"`source` must be one of {', '.join(SOURCES)}. "
                             f"Received: source={self.source!r}")

    def to_json(self):
        """The record's `location`: {"latitude", "longitude", "source"}."""
        return {"latitude": self.latitude, "longitude": self.longitude, "source": self.source}


def _text(value):
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    return value.strip("\x00 ").upper() if isinstance(value, str) else None


def _number(value):
    if isinstance(value, (str, bytes, bool)):
        return None
    try:
        number = float(value)  # Pillow's IFDRational: a zero denominator gives NaN
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _coordinate(value, ref, positive, negative, limit):
    """Degrees from EXIF's (degrees, minutes, seconds) and its N/S or E/W ref, or None."""
    ref = _text(ref)
    if ref not in (positive, negative):
        return None
    parts = value if isinstance(value, (tuple, list)) else (value,)
    numbers_ = [_number(part) for part in parts]
    if not 1 <= len(numbers_) <= 3 or None in numbers_ or any(n > 60 for n in numbers_[1:]):
        return None
    degrees = sum(n / 60**i for i, n in enumerate(numbers_))
    if degrees > limit:
        return None
    return round(-degrees if ref == negative else degrees, _PLACES)


def gps_location(gps):
    """(latitude, longitude) from an EXIF GPS IFD ({tag number: value}), or None.

    None when a coordinate or its N/S/E/W ref is missing or malformed (wrong types,
    zero denominators, NaN, out of range), when the receiver marked the fix void
    (GPSStatus "V"), and for exactly (0, 0), which cameras write when they had no fix.
    """
    if not isinstance(gps, dict) or _text(gps.get(_STATUS)) == "V":
        return None
    latitude = _coordinate(gps.get(_LATITUDE), gps.get(_LATITUDE_REF), "N", "S", 90)
    longitude = _coordinate(gps.get(_LONGITUDE), gps.get(_LONGITUDE_REF), "E", "W", 180)
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):
        return None
    return latitude, longitude


def exif_location(path_or_image):
    """(latitude, longitude) in decimal degrees from a photo's EXIF GPS block, or None.

    Args:
        path_or_image: an image file (only its EXIF is read, the pixels are not
            decoded), an open Pillow image, or a `siam_keras.runtime.images.Photo`
            (its `gps`, read when it was decoded).

    Returns None when there is no GPS block or it is unusable (see `gps_location`)
    and for a file that is no readable image; raises only FileNotFoundError for a
    path that does not exist.
    """
    from PIL import Image

    if hasattr(path_or_image, "pixels"):  # a Photo
        return gps_location(path_or_image.gps)
    if isinstance(path_or_image, Image.Image):
        return gps_location(exif_gps(path_or_image))
    path = os.fspath(path_or_image)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with opened_image(path, path) as image:  # its header only: no pixel limit
            return gps_location(exif_gps(image))
    except ImageError:
        return None


def location_feature(location, properties):
    """A GeoJSON Point Feature at `location` ([longitude, latitude], as RFC 7946 orders them)."""
    return {"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [location.longitude, location.latitude]},
            "properties": dict(properties)}


def write_locations(path, features):
    """Writes `features` as a GeoJSON FeatureCollection to `path`, atomically."""
    write_json(path, {"type": "FeatureCollection", "features": list(features)}, indent=1)
