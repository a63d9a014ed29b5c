"""`read_manifests`: the user's own photos and labels, listed in CSV, TSV, Parquet or JSON Lines.

Each row names a photo (`image_column`) and gives some of its labels: attributes (each
in [0, 1]: 0/1, graded votes or fractions), regression outputs (any finite number) and
classification outputs (a class label). `read_manifests` checks every file before any
training: what makes a whole manifest unusable raises `ManifestError`; a row that cannot
be used becomes a `RowProblem` naming its file and line, and the rest go on.

How cells are read, in every format alike:
- A missing label is an empty cell, JSON null, a missing JSON key, a NaN, or one of
  pandas' missing-value words (`MISSING_VALUES`: "NA", "N/A", "NaN", "null", "None", ...;
  case-sensitive as in pandas, so a class "none" is a label). A column that one file
  lacks is a missing label in that file's rows (attributes may come from one file and
  outputs from another); a column in no file at all is a `ManifestError`.
- Numbers: "0.5", " 1 ", "1e-3"; true/false (JSON, Parquet, or the words in any case)
  are 1/0. A decimal comma ("0,5") is not a number.
- Class labels are text, stripped; numbers become their decimal text (3 -> "3").
- Images: a path relative to the manifest file's folder (made absolute), an absolute
  path (kept), a file:// URI (made a path), or any other URI with a scheme, e.g.
  gs://, s3://, https:// (kept). Backslashes are folder separators on every system
  (Windows-style relative paths work on Linux); a Windows drive path (C:\\...) only on
  Windows. A path may name any file the user can read, `..` included: a manifest is as
  trusted as the configuration that lists it.
- Splits: the split column's train / validation / test (any case); without one, a
  stable hash of the image reference as written (`manifest_split`).
"""

import dataclasses
import os

from siam_keras.data.manifest.rows import (
    MISSING_VALUES,
    SPLITS,
    ManifestRow,
    RowError,
    RowReader,
    manifest_split,
    where,
)
from siam_keras.data.manifest.tables import ManifestError, read_table
from siam_keras.runtime.output_kinds import KINDS, kind_from_labels

#: The kinds an output column may be (`siam_keras.runtime.output_kinds`).
OUTPUT_KINDS = tuple(KINDS)
__all__ = ["MISSING_VALUES", "OUTPUT_KINDS", "SPLITS", "ManifestError", "ManifestRow", "RowProblem",
           "class_names", "fix_classes", "manifest_split", "read_manifests"]


@dataclasses.dataclass(frozen=True)
class RowProblem:
    """A row left out, and why: `str()` is "photos.csv:14: why" ("x.parquet row 14: why")."""

    source: str
    line: int
    message: str

    def __str__(self):
        return f"{self.source}{where(self.source, self.line)}: {self.message}"


def read_manifests(files, image_column, attribute_columns, outputs, split_column=None,
                   latitude_column=None, longitude_column=None, require_labels=True):
    """Reads and checks manifest files; returns `(rows, problems)`.

    Args:
        files: the manifest files (a list, or one path), each .csv, .tsv, .parquet,
            .jsonl or .ndjson.
        image_column: the column naming each photo (required in every file).
        attribute_columns: the attribute columns, in the model's order.
        outputs: {column: kind}, kind one of `OUTPUT_KINDS`.
        split_column: the column holding train/validation/test (required in every file),
            or None for the hashed 80/10/10 split.
        latitude_column, longitude_column: both or neither.
        require_labels: False to read the photos alone (`siam score`): no attribute or
            output column is then needed, and a row without labels is kept.

    Returns:
        rows: the usable `ManifestRow`s, in file and line order.
        problems: a `RowProblem` for each row left out: no image, an unusable image
            reference or split, an attribute that is not a number in [0, 1], a regression
            value that is not a finite number, an out-of-range coordinate, no label at
            all, a ragged or unreadable record, a photo listed twice in one file or in two
            splits.

    Raises:
        FileNotFoundError: a file does not exist.
        ManifestError: a problem with the configuration or a whole file (see
            `tables.read_table`), a configured column in no file, a file without
            any label column, or no usable row at all.
    """
    files = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    if isinstance(attribute_columns, str):
        raise TypeError(f"attribute_columns must be a list of column names. Received: "
                        f"{attribute_columns!r}")
    attributes, outputs = tuple(attribute_columns), dict(outputs)
    location = _check_configuration(files, image_column, attributes, outputs, split_column,
                                    latitude_column, longitude_column, require_labels)
    tables = _read_tables(files, image_column, split_column,
                          (*attributes, *outputs, *location))
    _check_columns(tables, attributes, outputs, location, require_labels)
    reader = RowReader(image_column, attributes, outputs, split_column, location, require_labels)
    return _read_rows(tables, reader)


def _check_configuration(files, image_column, attributes, outputs, split_column, latitude,
                         longitude, require_labels=True):
    """The location columns (a pair or ()) after checking the configuration."""
    if not files:
        raise ManifestError("A manifest needs at least one file (.csv, .tsv, .parquet, .jsonl, "
                            "or .ndjson). Received: files=[]")
    for kind in outputs.values():
        if kind not in OUTPUT_KINDS:
            raise ManifestError(f"Output kinds must be one of {', '.join(OUTPUT_KINDS)}. "
                                f"Received: {outputs}")
    if require_labels and not attributes and not outputs:
        raise ManifestError("A manifest needs at least one attribute or output column.")
    if (latitude is None) != (longitude is None):
        raise ManifestError(f"latitude_column and longitude_column go together. Received: "
                            f"latitude_column={latitude!r}, longitude_column={longitude!r}")
    location = () if latitude is None else (latitude, longitude)
    names = [image_column, *attributes, *outputs, *location]
    names += [split_column] if split_column else []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ManifestError(f"Column names must be non-empty text. Received: {name!r}")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ManifestError(f"Each column may have one role (image, split, attribute, output, "
                            f"location). Configured more than once: {twice}")
    return location


def _read_tables(files, image_column, split_column, columns):
    """[(path, column names, records)] of each file (`tables.read_table`): the image, split
    and `columns` cells of its records, read as they are iterated."""
    wanted = [name for name in (image_column, split_column, *columns) if name]
    required = [image_column] + ([split_column] if split_column else [])
    return [(os.fspath(path), *read_table(path, wanted, required)) for path in files]


def _check_columns(tables, attributes, outputs, location, require_labels):
    """Raises ManifestError for a file without any label column (where labels are
    required), or for a configured column that no file has."""
    labels = (*attributes, *outputs)
    for path, columns, _ in tables:
        if require_labels and not set(columns) & set(labels):
            raise ManifestError(f"{path} has none of the label columns (attributes "
                                f"{list(attributes)}, outputs {list(outputs)}). Its columns: "
                                f"{columns[:50]}")
    every = set().union(*(columns for _, columns, _ in tables))
    for name in (*labels, *location):
        if name not in every:
            role = ("attribute" if name in attributes else "output" if name in outputs
                    else "location")
            raise ManifestError(f"The {role} column {name!r} is in none of the manifest files "
                                f"({', '.join(path for path, _, _ in tables)}).")


def _read_rows(tables, reader):
    """`(rows, problems)` of every record of `tables`, in file and line order: `reader`
    turns each into a row, or into a `RowProblem` saying why not. Raises ManifestError
    when no row at all can be used."""
    rows, problems, total = [], [], 0
    for path, _, records in tables:
        reader.start_file(path)
        for line, cells, problem in records:
            total += 1
            try:
                if problem is None:
                    rows.append(reader.row(line, cells))
            except RowError as error:
                problem = str(error)
            if problem is not None:
                problems.append(RowProblem(path, line, problem))
    if not rows:
        first = "\n  ".join(map(str, problems[:5]))
        raise ManifestError(f"None of the {total} rows of {', '.join(p for p, _, _ in tables)} "
                            f"can be used. The first problems:\n  {first}")
    return rows, problems


def class_names(rows, output, kind="classification"):
    """The labels (classes, tags) of a labelled output: those its training rows use, sorted."""
    used = set()
    for row in rows:
        if row.split == "train" and row.outputs.get(output) is not None:
            used |= KINDS[kind].labels_in(row.outputs[output])
    return tuple(sorted(used))


def fix_classes(rows, outputs, labels=None):
    """Fixes each labelled output's labels (classes, tags) from the training split.

    Args:
        rows: `ManifestRow`s (from `read_manifests`).
        outputs: {output: kind name}; the labelled ones are fixed.
        labels: {output: labels} known already (a trained model's): then those
            are the labels, and every row with a label not among them is left out (a
            labelled output it does not name takes the training split's).

    Returns:
        kinds: {output: OutputKind} of every output, with its labels.
        rows: the rows kept, in order.
        problems: a `RowProblem` for each validation or test row left out because one of
            its labels was not seen in training.

    Raises:
        ManifestError: a labelled output has too few labels in training.
    """
    given = dict(labels or {})
    labelled = [name for name, kind in outputs.items() if KINDS[kind].label_key is not None]
    # An output the model lacks (or all, without a model) takes the training split's labels.
    labels = {name: given[name] if name in given else class_names(rows, name, outputs[name])
              for name in labelled}
    kinds = {name: None if name in labelled else kind_from_labels(kind)
             for name, kind in outputs.items()}
    for name in labelled:
        names, kind = tuple(labels[name]), KINDS[outputs[name]]
        if len(names) < kind.min_labels:
            raise ManifestError(f"The {kind.name} output {name!r} needs at least "
                                f"{kind.min_labels} {kind.label_key} in the training split. "
                                f"Received: {len(names)} {list(names)}")
        kinds[name] = kind_from_labels(outputs[name], names)
    known = {name: set(kinds[name].labels) for name in labelled}
    kept, problems = [], []
    for row in rows:
        unknown = [(name, label) for name in labelled if row.outputs.get(name) is not None
                   for label in sorted(kinds[name].labels_in(row.outputs[name]) - known[name])]
        if not unknown:
            kept.append(row)
            continue
        name, label = unknown[0]
        names = kinds[name].labels
        shown = ", ".join(map(repr, names[:20])) + (", ..." if len(names) > 20 else "")
        problems.append(RowProblem(row.source, row.line, (
            f"{kinds[name].label_word} {label!r} of output {name!r} is not among the {len(names)} "
            f"{kinds[name].label_key} "
            f"{'of the model' if name in given else 'seen in training'}: {shown}")))
    return kinds, kept, problems
