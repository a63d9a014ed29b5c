"""ScenicOrNot as it is published (`votes.tsv`) and downloaded (`images/`), no TensorFlow.

About 217,000 Geograph photos of Great Britain rated 1-10 by the public (ODbL; the
photos are CC BY-SA 2.0 and are not redistributed: `siam_keras.data.geograph` fetches
them). `votes.tsv` is parsed by column name, in both published layouts (with and
without the `ID` column). A photo's file is `images/<ID>.<ext>` or
`images/<Geograph photo number>.<ext>`.
"""

import csv
import math
import re
from pathlib import Path

from siam_keras.data.manual_download import check_manual_folder, hashed_split

VOTES = "votes.tsv"
IMAGES = "images"
SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
#: votes.tsv's columns, by lower-cased header name; `id` is absent in the re-export.
REQUIRED = ("lat", "lon", "average", "variance", "votes", "geograph uri")
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


def read_votes(path):
    """(records, malformed): rows of votes.tsv as dicts, and the rows that were not.

    Each record: `key` (ID, else photo number), `id`, `photo`, `lat`, `lon`,
    `scenicness` (Average), `scenicness_variance` (Variance), `votes` (list of int),
    `uri`. Raises ValueError naming the file and the missing columns.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, delimiter="\t")
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path} is empty; expected a header with {', '.join(REQUIRED)}")
        columns = {name.strip().lower(): j for j, name in enumerate(header)}
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise ValueError(f"{path} lacks the columns {missing}. Its header: {header}. Expected "
                             "(ID optional): ID, Lat, Lon, Average, Variance, Votes, Geograph URI")
        records, malformed = [], []
        for line, row in enumerate(reader, start=2):
            try:
                uri = row[columns["geograph uri"]].strip()
                record_id = row[columns["id"]].strip() if "id" in columns else None
                number = photo_number(uri)
                record = {
                    "id": record_id, "photo": number, "key": record_id or number, "uri": uri,
                    "lat": float(row[columns["lat"]]), "lon": float(row[columns["lon"]]),
                    "scenicness": float(row[columns["average"]]),
                    "scenicness_variance": float(row[columns["variance"]]),
                    "votes": [int(v) for v in row[columns["votes"]].split(",") if v.strip()],
                }
                if not record["key"]:
                    raise ValueError("neither an ID nor a photo number")
                records.append(record)
            except (IndexError, ValueError) as error:
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
