"""A manifest file's table, whatever its format: CSV, TSV, Parquet or JSON Lines.

`read_table` gives a file's column names and its records as `(line, cells, problem)`:
the cells of the wanted columns as the file holds them (text for CSV and TSV, JSON
values, Parquet's Python values), or, for a record that cannot be read (a ragged CSV
row, an invalid JSON line, a line longer than `MAX_LINE_CHARS`), None and why. What
makes the whole file unusable raises `ManifestError` naming the file. Standard library
only; pyarrow is imported for Parquet files alone.

Text files are UTF-8, with or without the BOM Excel writes ("CSV UTF-8"); CRLF and
quoted cells holding commas, tabs or line breaks are read as Excel and pandas write
them, and `line` is the physical line where the record starts (the header is line 1).
In Parquet `line` is the 1-based row number.
"""

import codecs
import contextlib
import csv
import json
import os
from pathlib import Path

from siam_keras.data.manifest.rows import MAX_CELL_CHARS

#: Accepted file suffixes (any case) and the format each names.
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".jsonl": "jsonl",
            ".ndjson": "jsonl"}
#: A text line longer than this is skipped unread (real manifest lines hold a few hundred
#: characters).
MAX_LINE_CHARS = 1_000_000
#: A quoted cell may span lines (and is held in memory while it is read): one longer than
#: this stops the file's reading at its record.
MAX_FIELD_CHARS = 256_000_000
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class ManifestError(ValueError):
    """A problem with a whole manifest (a file, its header, the configuration), raised
    before anything is trained; the message names the file and what was expected."""


def table_format(path):
    """"csv", "tsv", "parquet" or "jsonl" from the suffix; raises ManifestError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ManifestError(f"{path}: unknown manifest format {suffix or '(no suffix)'!r}. "
                            f"Accepted suffixes: {', '.join(SUFFIXES)}")
    return SUFFIXES[suffix]


def read_table(path, wanted, required=()):
    """(columns, records) of a manifest file.

    Args:
        path: the file (str or Path), named as given in messages.
        wanted: the column names whose cells the records keep.
        required: columns the file must have (checked from the header, before the rows).

    Returns:
        columns: every column name of the file, in order (JSON Lines: every key of
            any line, in order of first appearance).
        records: list of `(line, cells, problem)`: `cells` is {column: value} for the
            wanted columns the file has, `problem` None; or `cells` None and
            `problem` says why the record cannot be read.

    Raises:
        FileNotFoundError: `path` does not exist.
        ManifestError: unknown suffix, not UTF-8, no header, no rows, duplicate column
            names, a required column missing, not a Parquet file.
    """
    kind = table_format(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such manifest file")
    if kind == "parquet":
        columns, records = _read_parquet(path, wanted, required)
    else:
        _check_not_utf16(path)
        try:
            with open(path, newline="", encoding="utf-8-sig") as file:
                lines = _Lines(file)
                read = _read_jsonl if kind == "jsonl" else _read_delimited
                delimiter = "\t" if kind == "tsv" else ","
                columns, records = read(path, lines, wanted, required, delimiter)
        except UnicodeDecodeError:
            raise ManifestError(_not_utf8(path)) from None
    if not records:
        raise ManifestError(f"{path} has a header but no rows")
    return columns, records


class _Lines:
    """The physical lines of a text file (line endings kept, as `csv` wants them); a
    line longer than MAX_LINE_CHARS is replaced by "" (its rest is skipped, never held
    whole) and its number noted in `too_long`."""

    def __init__(self, file):
        self.file, self.number, self.too_long = file, 0, []

    def __iter__(self):
        while line := self.file.readline(MAX_LINE_CHARS + 1):
            self.number += 1
            if len(line) > MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
                rest = line
                while rest and not rest.endswith(("\n", "\r")):
                    rest = self.file.readline(MAX_LINE_CHARS)
                self.too_long.append(self.number)
                line = ""
            yield line

    def too_long_since(self, start):
        """The problem when a line from `start` on was too long, else None."""
        if self.too_long and self.too_long[-1] >= start:
            return f"line {self.too_long[-1]} is longer than {MAX_LINE_CHARS:,} characters"
        return None


def _header(path, names, required, hint="", strip=False):
    """Column names (stripped if `strip`), after checking duplicates and the required columns."""
    columns = [name.strip() for name in names] if strip else list(names)
    seen, duplicates = set(), []
    for name in columns:
        if name and name in seen and name not in duplicates:
            duplicates.append(name)
        seen.add(name)
    if duplicates:
        raise ManifestError(f"{path} names the columns {duplicates} more than once; each "
                            f"column name must be unique. Its columns: {columns}")
    for name in required:
        if name not in seen:
            near = [c for c in columns if c.lower() == name.lower()]
            close = f" (column names are case-sensitive: {near[0]!r}?)" if near else ""
            raise ManifestError(f"{path} has no column {name!r}{close}. Its columns: "
                                f"{columns[:50]}{hint}")
    return columns


@contextlib.contextmanager
def _field_limit(limit):
    """`csv.field_size_limit(limit)` inside the block (it is process-wide: put back)."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_delimited(path, lines, wanted, required, delimiter):
    with _field_limit(MAX_FIELD_CHARS):
        return _delimited_records(path, lines, wanted, required, delimiter)


def _delimited_records(path, lines, wanted, required, delimiter):
    reader = csv.reader(lines, delimiter=delimiter)
    header, previous = None, 0
    for header in reader:
        if lines.too_long_since(1):
            raise ManifestError(f"{path}: the header is longer than {MAX_LINE_CHARS:,} characters")
        if any(cell.strip() for cell in header):
            break
        header = None
    if header is None:
        raise ManifestError(f"{path} is empty; expected a header line naming the columns")
    hint = ""
    if len(header) == 1 and (";" in header[0] or (delimiter == "," and "\t" in header[0])):
        hint = (f". It looks separated by {'semicolons' if ';' in header[0] else 'tabs'}: "
                f"save it with commas (.csv) or tabs (.tsv)")
    columns = _header(path, header, required, hint, strip=True)
    indices = [(name, columns.index(name)) for name in wanted if name in columns]
    records, previous = [], reader.line_num
    kind = "TSV" if delimiter == "\t" else "CSV"
    while True:
        start = previous + 1
        try:
            row = next(reader, None)
        except csv.Error as error:
            # Where this record ends cannot be known (a quoted cell may go on): reading on
            # from the next line could take a cell's text for rows. The file stops here.
            records.append((start, None, f"cannot be read as {kind} ({error}); the rest of "
                                         f"the file, from line {start} on, is not read"))
            return columns, records
        previous = reader.line_num
        if row is None:
            return columns, records
        if problem := lines.too_long_since(start):
            # The line was skipped unread: whether a quoted cell goes on after it cannot be
            # known, so, as after a csv.Error, the file stops at this record.
            records.append((start, None, f"{problem}; the rest of the file, from line "
                                         f"{start} on, is not read"))
            return columns, records
        if (longest := max(map(len, row), default=0)) > MAX_CELL_CHARS:
            records.append((start, None, f"has a cell of {longest:,} characters; at most "
                                         f"{MAX_CELL_CHARS:,} are read"))
        elif not any(cell.strip() for cell in row):
            continue  # a blank line
        elif len(row) != len(columns):
            fields = f"{len(row)} field{'' if len(row) == 1 else 's'}"
            records.append((start, None, f"has {fields}; the header has {len(columns)}"))
        else:
            records.append((start, {name: row[j] for name, j in indices}, None))


def _no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        twice = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"the keys {twice} appear more than once")
    return dict(pairs)


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys)


def _read_jsonl(path, lines, wanted, required, _):
    records, keys = [], {}
    for line, text in enumerate(lines, 1):
        if line in lines.too_long:
            records.append((line, None, lines.too_long_since(line)))
            continue
        if not text.strip():
            continue
        try:
            value = _DECODER.decode(text)
        except json.JSONDecodeError as error:
            records.append((line, None, f"invalid JSON ({error.msg} at column {error.colno})"))
            continue
        except (ValueError, RecursionError) as error:
            records.append((line, None, f"invalid JSON ({error or 'nested too deeply'})"))
            continue
        if not isinstance(value, dict):
            kind = type(value).__name__
            problem = f'is a JSON {kind}, not an object ({{"column": value, ...}})'
            records.append((line, None, problem))
            continue
        keys.update(dict.fromkeys(value))
        records.append((line, {name: value[name] for name in wanted if name in value}, None))
    if not keys:
        if not records:
            raise ManifestError(f"{path} is empty; expected one JSON object per line")
        line, _, problem = records[0]
        raise ManifestError(f"{path}: no line is a JSON object (line {line}: {problem})")
    return _header(path, list(keys), required), records


def _read_parquet(path, wanted, required):
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ImportError("Reading Parquet manifests needs pyarrow (it comes with "
                          "tensorflow-datasets; or pip install pyarrow)") from None
    try:
        file = pyarrow.parquet.ParquetFile(path)
        columns = _header(path, file.schema_arrow.names, required)
        present = [name for name in wanted if name in columns]
        table = file.read(columns=present)
    except (pyarrow.ArrowException, OSError) as error:
        raise ManifestError(f"{path} is not a Parquet file pyarrow can read ({error})") from None
    values = {name: table.column(name).to_pylist() for name in present}
    return columns, [(i + 1, {name: cells[i] for name, cells in values.items()}, None)
                     for i in range(table.num_rows)]


def _check_not_utf16(path):
    with open(path, "rb") as file:
        if file.read(2) in _UTF16_BOMS:
            raise ManifestError(f"{path} is UTF-16 text (Excel's \"Unicode Text\"); save it as "
                                "UTF-8 (Excel: \"CSV UTF-8\")")


def _not_utf8(path):
    """The message for a file that is not UTF-8, naming its first line that is not."""
    decoder, line = codecs.getincrementaldecoder("utf-8")(), 1
    with open(path, "rb") as file:
        while data := file.readline(MAX_LINE_CHARS):
            try:
                decoder.decode(data)
            except UnicodeDecodeError as error:
                byte = error.object[error.start]
                return (f"{path}: line {line} is not UTF-8 (byte {byte:#04x}); save the file as "
                        "UTF-8 (Excel: \"CSV UTF-8\")")
            line += data.endswith(b"\n")
    return f"{path} is not UTF-8 text; save it as UTF-8 (Excel: \"CSV UTF-8\")"
