"""ScenicOrNot as it is published (`votes.tsv`) and downloaded (`images/`), no TensorFlow.

About 217,000 Geograph photos of Great Britain rated 1-10 by the public (ODbL; the
photos are CC BY-SA 2.0 and are not redistributed: `siam_keras.data.download.geograph` fetches
them). `votes.tsv` is parsed by column name, in both published layouts (with and
without the `ID` column). A photo's file is `images/<ID>.<ext>` or
`images/<Geograph photo number>.<ext>`.
"""

import csv
import math
import re
from pathlib import Path

from siam_keras.data.download.geograph import SAFE_KEY
from siam_keras.data.tfds.manual_download import check_manual_folder, hashed_split

#: The dataset's name (its TFDS builder's).
NAME = "scenic_or_not"
#: The builder's configs, {name: block_km}: 80/10/10 photo by photo (0), or by map cells
#: block_km wide, so that neighbouring photos never straddle train and test. Training's
#: `son_config` takes one of these names.
CONFIGS = {"default": 0.0, "spatial": 10.0}
VOTES = "votes.tsv"
IMAGES = "images"
SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
#: votes.tsv's columns, by lower-cased header name; `id` is absent in the re-export.
REQUIRED = ("lat", "lon", "average", "variance", "votes", "geograph uri")
#: A votes.tsv line longer than this is malformed (real ones are under 200 characters).
MAX_LINE_CHARS = 10_000
KM_PER_DEGREE = 111.32
INSTRUCTIONS = f"""\
ScenicOrNot cannot be downloaded automatically. Put into the manual folder:

  {VOTES}   the votes, from ScenicOrNot's data download (the site moved from
             mySociety, scenic.mysociety.org, to Warwick Business School's Data
             Science Lab; ODbL): columns ID (optional), Lat, Lon, Average,
             Variance, Votes, Geograph URI
  {IMAGES}/     the photos, named <ID>.jpg or <Geograph photo number>.jpg: fetch them
             with `siam download-scenic-or-not --votes votes.tsv --out images/`
             (polite, resumable; records each photo's CC BY-SA attribution)
"""

_PHOTO_NUMBER = re.compile(r"/photo/(\d+)")


def photo_number(uri):
    """The Geograph photo number in a photo page's URI, or None."""
    match = _PHOTO_NUMBER.search(uri or "")
    return match.group(1) if match else None


def split_of(key, lat=None, lon=None, block_km=0.0):
    """"train", "validation" or "test" (80/10/10), deterministic.

    With `block_km` > 0 the unit is a block_km x block_km cell of the map, so that
    neighbouring photos (often the same place) fall in the same split.
    """
    if block_km > 0:
        y = lat * KM_PER_DEGREE
        x = lon * KM_PER_DEGREE * math.cos(math.radians(lat))
        key = f"block:{math.floor(y / block_km)}:{math.floor(x / block_km)}"
    return hashed_split(key)


def _float(row, columns, name, low, high):
    value = float(row[columns[name]])
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be a finite number in [{low:g}, {high:g}]. Received: "
                         f"{row[columns[name]]!r}")
    return value


def _record(row, columns):
    """One votes.tsv row as a record; raises ValueError or IndexError saying what is wrong."""
    uri = row[columns["geograph uri"]].strip()
    record_id = row[columns["id"]].strip() if "id" in columns else None
    number = photo_number(uri)
    record = {
        "id": record_id, "photo": number, "key": record_id or number, "uri": uri,
        "lat": _float(row, columns, "lat", -90.0, 90.0),
        "lon": _float(row, columns, "lon", -180.0, 180.0),
        "scenicness": _float(row, columns, "average", 1.0, 10.0),
        "scenicness_variance": _float(row, columns, "variance", 0.0, 100.0),
        "votes": [int(v) for v in row[columns["votes"]].split(",") if v.strip()],
    }
    if not all(1 <= vote <= 10 for vote in record["votes"]):
        raise ValueError(f"votes must be integers from 1 to 10. Received: "
                         f"{row[columns['votes']]!r}")
    if not record["key"]:
        raise ValueError("neither an ID nor a photo number")
    if not SAFE_KEY.fullmatch(record["key"]):
        raise ValueError(f"the ID {record['key'][:80]!r} is not a plain name (letters, digits, "
                         "- and _): it would name a file")
    return record


def _lines(file, limit=MAX_LINE_CHARS):
    """(line number, text) of a text file, a line longer than `limit` as (number, None)
    (its rest is skipped, never held in memory whole)."""
    number = 0
    while True:
        line = file.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith("\n"):
            while (rest := file.readline(limit)) and not rest.endswith("\n"):
                pass
            yield number, None
        else:
            yield number, line.rstrip("\r\n")


def read_votes(path):
    """(records, malformed): rows of votes.tsv as dicts, and the rows that were not.

    Each record: `key` (ID, else photo number), `id`, `photo`, `lat`, `lon`,
    `scenicness` (Average), `scenicness_variance` (Variance), `votes` (list of int),
    `uri`. A row that cannot be used is listed in `malformed` as "file:line: why" and
    left out: a missing or non-numeric field, a coordinate or vote outside its range
    (NaN and infinities included), an ID that is not a plain name, a key or
    Geograph URI seen on an earlier line, or a line longer than `MAX_LINE_CHARS`.
    Raises ValueError naming the file and the missing columns.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
        lines = _lines(file)
        first = next(lines, None)
        if first is None or first[1] is None:
            raise ValueError(f"{path} is empty or its first line is not a header; expected "
                             f"{', '.join(REQUIRED)}")
        header = first[1].split("\t")
        columns = {name.strip().lower(): j for j, name in enumerate(header)}
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise ValueError(f"{path} lacks the columns {missing}. Its header: {header}. Expected "
                             "(ID optional): ID, Lat, Lon, Average, Variance, Votes, Geograph URI")
        records, malformed, seen = [], [], {}
        for line, text in lines:
            if text is None:
                malformed.append(f"{path}:{line}: longer than {MAX_LINE_CHARS} characters")
                continue
            if not text.strip():
                continue
            try:
                row = next(csv.reader([text], delimiter="\t"))
                record = _record(row, columns)
                for what in ("key", "uri"):
                    if (what, record[what]) in seen:
                        raise ValueError(f"{what} {record[what][:80]!r} is also on line "
                                         f"{seen[what, record[what]]}")
                seen[("key", record["key"])] = seen[("uri", record["uri"])] = line
                records.append(record)
            except (IndexError, ValueError, csv.Error) as error:
                malformed.append(f"{path}:{line}: {error}")
    return records, malformed


class ScenicOrNotFolder:
    """The manual folder of ScenicOrNot.

    Raises:
        FileNotFoundError: missing or empty, or without votes.tsv or images/ (the
            message names the folder and what it should hold).
        ValueError: votes.tsv lacks a column.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        check_manual_folder(self.folder, "ScenicOrNot", INSTRUCTIONS, [
            (VOTES, self.folder / VOTES), (f"{IMAGES}/", self.folder / IMAGES)])
        self.records, self.malformed = read_votes(self.folder / VOTES)
        files = {p.stem: p for p in (self.folder / IMAGES).iterdir()
                 if p.is_file() and p.suffix.lower() in SUFFIXES}
        self._files = files

    def image_path(self, record):
        """The photo's file (by ID, else by photo number), or None when it is missing."""
        for name in (record["id"], record["photo"]):
            if name and name in self._files:
                return self._files[name]
        return None

    def examples(self, split, block_km=0.0):
        """The split's records (present or not), in file order."""
        for record in self.records:
            if split_of(record["key"], record["lat"], record["lon"], block_km) == split:
                yield record
