"""One manifest record's cells -> a `ManifestRow`, or a `RowError` saying why not.

A manifest's cell rules (missing values, numbers, labels, image references, splits)
live here; `reading.read_manifests` applies them to every record.
"""

import dataclasses
import decimal
import hashlib
import math
import os
import re
from urllib.parse import urlparse

import numpy as np

from siam_keras.runtime.output_kinds import KINDS
from siam_keras.runtime.uris import is_uri
from siam_keras.vocabulary import SPLITS

#: Shares of the hashed split, in percent (`manifest_split`).
SPLIT_PERCENT = {"train": 80, "validation": 10, "test": 10}
#: Cells that mean "no label": pandas' default missing values.
MISSING_VALUES = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                            "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None",
                            "n/a", "nan", "null"})
#: A regression label larger than this is refused: training computes in float32, where
#: 1e39 is infinite, and a batch's sum of squared errors must stay finite too (512 squares
#: of 1e15 are 5e32; float32 ends at 3.4e38).
MAX_OUTPUT_LABEL = 1e15
#: A cell longer than this is refused, whatever the manifest's format.
MAX_CELL_CHARS = 65_536
#: An image reference longer than this is refused (PATH_MAX on Linux).
MAX_REFERENCE_CHARS = 4096
_WINDOWS_ABSOLUTE = re.compile(r"([A-Za-z]:[\\/]|\\\\)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+")
_BOOLEANS = {"true": 1.0, "false": 0.0}


@dataclasses.dataclass(frozen=True, eq=False)
class ManifestRow:
    """One usable row of a manifest.

    Attributes:
        source: the manifest file, as given.
        line: where the row starts: the physical line (CSV, TSV, JSON Lines; the header
            is line 1) or the 1-based row number (Parquet).
        image: the photo: an absolute path, or a URI with a scheme (gs://, https://, ...).
        split: "train", "validation" or "test".
        attributes: (num_attributes,) float32 in [0, 1], NaN where missing (read-only).
        outputs: {output: value}: a float (NaN where missing) for a regression output,
            a str label for a classification output, a sorted tuple of tags for a
            multi-label output (None where a labelled output's cell is missing).
        location: (latitude, longitude) in degrees, or None.

    Rows compare by identity (`attributes` is an array).
    """

    source: str
    line: int
    image: str
    split: str
    attributes: np.ndarray
    outputs: dict
    location: tuple | None = None


class RowError(ValueError):
    """A row that cannot be used; the message says which cells and why (`read_manifests`
    turns it into a `RowProblem`)."""


def where(source, line):
    """":14" after a text file's name, " row 14" after a Parquet file's."""
    return f" row {line}" if str(source).lower().endswith(".parquet") else f":{line}"


def manifest_split(reference):
    """"train", "validation" or "test" (80/10/10) from a stable hash (SHA-256) of an image
    reference as written (backslashes as slashes), not of where it resolves: the same
    photo lands in the same split on every machine, wherever the manifest lies."""
    bucket = int.from_bytes(hashlib.sha256(reference.encode("utf-8")).digest()[:8], "big") % 100
    for split in SPLITS:
        bucket -= SPLIT_PERCENT[split]
        if bucket < 0:
            return split
    return SPLITS[-1]


def _show(value):
    """A cell for a message: its repr, cut to 40 characters."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:40] + '...'}"


def _is_missing(value):
    return (value is None or (isinstance(value, str) and value.strip() in MISSING_VALUES)
            or (isinstance(value, float) and math.isnan(value)))


def _number(value):
    """A cell as a float, NaN when missing; raises RowError for anything else."""
    if type(value) is str:
        try:
            number = float(value)  # the fast path: "0.5", " 1 ", "1e-3", "nan"
            if "_" not in value:
                return number
        except ValueError:
            pass
        text = value.strip()
        if text in MISSING_VALUES:
            return math.nan
        if text.lower() in _BOOLEANS:
            return _BOOLEANS[text.lower()]
        hint = " (use a point as the decimal mark)" if _DECIMAL_COMMA.fullmatch(text) else ""
        raise RowError(f"{_show(value)} is not a number{hint}")
    if value is None:
        return math.nan
    if isinstance(value, (bool, int, float, decimal.Decimal)):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    raise RowError(f"{_show(value)} is not a number")


def _label(value):
    """A class label as text, None when missing."""
    if _is_missing(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float, decimal.Decimal)):
        return str(value).strip()
    raise RowError(f"{_show(value)} is not a class label")


class RowReader:
    """Turns a record's cells into a ManifestRow (or raises RowError), and remembers
    each photo's first row to find a photo listed twice (`require_labels=False`: a row
    without labels is kept)."""

    def __init__(self, image_column, attributes, outputs, split_column, location,
                 require_labels=True):
        self.image_column, self.attributes, self.outputs = image_column, attributes, outputs
        self.split_column, self.location = split_column, location
        self.require_labels = require_labels
        self.seen = {}

    def start_file(self, path):
        self.source, self.folder = path, os.path.dirname(os.path.abspath(path))

    def row(self, line, cells):
        longest = max((len(v) for v in cells.values() if isinstance(v, str)), default=0)
        if longest > MAX_CELL_CHARS:
            raise RowError(f"has a cell of {longest:,} characters; at most {MAX_CELL_CHARS:,} "
                           "are read")
        errors, get = [], cells.get
        try:
            image, key = self._image(get(self.image_column))
        except RowError as error:
            errors.append(f"column {self.image_column!r}: {error}")
        split = None
        if self.split_column:
            try:
                split = self._split(get(self.split_column))
            except RowError as error:
                errors.append(f"column {self.split_column!r}: {error}")
        values = []
        for name in self.attributes:
            try:
                value = _number(get(name))
                if not 0.0 <= value <= 1.0 and not math.isnan(value):
                    raise RowError(f"{_show(cells[name])} is outside [0, 1]")
            except RowError as error:
                errors.append(f"column {name!r}: {error}")
                value = math.nan
            values.append(value)
        labelled = not all(map(math.isnan, values))
        outputs = {}
        for name, kind in self.outputs.items():
            kind = KINDS[kind]
            try:
                if kind.label_key is not None:  # a labelled kind: its labels are text
                    value = _label(get(name))
                    value = None if value is None else kind.parse_label(value)
                    labelled = labelled or value is not None
                else:
                    value = _number(get(name))
                    if value in (math.inf, -math.inf):
                        raise RowError(f"{_show(cells[name])} is not a finite number")
                    if abs(value) > MAX_OUTPUT_LABEL:
                        raise RowError(
                            f"{_show(cells[name])} is too large: the model computes in float32, "
                            f"where its squared error overflows (at most {MAX_OUTPUT_LABEL:.0e} "
                            "in size; rescale the column)")
                    labelled = labelled or not math.isnan(value)
            except RowError as error:
                errors.append(f"column {name!r}: {error}")
                value = None if kind.label_key is not None else math.nan
            outputs[name] = value
        location = self._location(cells, errors) if self.location else None
        if not errors and not labelled and self.require_labels:
            errors.append("no label: every attribute and output is empty")
        if errors:
            raise RowError("; ".join(errors))
        split = self._first_listing(line, image, split, key)
        attributes = np.array(values, dtype=np.float32)
        attributes.setflags(write=False)
        return ManifestRow(self.source, line, image, split, attributes, outputs, location)

    def _image(self, value):
        """(resolved image, key for the hashed split)."""
        if _is_missing(value):
            raise RowError("no image (the cell is empty)")
        if not isinstance(value, str):
            raise RowError(f"{_show(value)} is not a path or URI")
        reference = value.strip()
        if len(reference) > MAX_REFERENCE_CHARS:
            raise RowError(f"the image reference is {len(reference):,} characters long; at "
                           f"most {MAX_REFERENCE_CHARS} are accepted")
        if _CONTROL.search(reference):
            raise RowError(f"{_show(reference)} holds a control character (NUL, line break, ...)")
        if is_uri(reference) and not reference.lower().startswith("file://"):
            return reference, reference
        path = reference
        if is_uri(reference):  # file://
            from urllib.request import url2pathname  # 30 ms to import: only when needed

            path = url2pathname(urlparse(reference).path)
        if os.name != "nt":
            if _WINDOWS_ABSOLUTE.match(path):
                raise RowError(f"{_show(reference)} is a Windows path; on this system write it "
                               "relative to the manifest's folder")
            path = path.replace("\\", "/")
        return os.path.normpath(os.path.join(self.folder, path)), path

    def _split(self, value):
        if _is_missing(value):
            raise RowError(f"no split (the cell is empty); expected one of {', '.join(SPLITS)}")
        text = value.strip().lower() if isinstance(value, str) else None
        if text not in SPLITS:
            raise RowError(f"{_show(value)} is not a split; expected one of {', '.join(SPLITS)}")
        return text

    def _location(self, cells, errors):
        """(latitude, longitude), or None when both cells are empty."""
        values = []
        for name, limit in zip(self.location, (90.0, 180.0)):
            try:
                value = _number(cells.get(name))
                if not -limit <= value <= limit and not math.isnan(value):
                    raise RowError(f"{_show(cells[name])} is outside [-{limit:g}, {limit:g}]")
            except RowError as error:
                errors.append(f"column {name!r}: {error}")
                return None
            values.append(value)
        missing = [math.isnan(value) for value in values]
        if not any(missing):
            return tuple(values)
        if not all(missing):
            empty, given = self.location if missing[0] else self.location[::-1]
            errors.append(f"column {empty!r} is empty but {given!r} is not")
        return None

    def _first_listing(self, line, image, split, key):
        """The row's split after checking the photo against its earlier rows."""
        first = self.seen.get(image)
        if first is None:
            split = split or manifest_split(key)
            self.seen[image] = (self.source, line, split)
            return split
        source, first_line, first_split = first
        if source == self.source:
            unit = "row" if where(source, 0).startswith(" row") else "line"
            raise RowError(f"the image is also on {unit} {first_line}; list each photo once")
        if split is not None and split != first_split:
            raise RowError(f"the image is in split {first_split!r} on {source}"
                           f"{where(source, first_line)} but {split!r} here; a photo must be in "
                           "one split")
        return first_split
