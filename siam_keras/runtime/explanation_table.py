"""Explanations as a table: one row per image, written as CSV or Parquet while a run goes on.

The columns, for a model with attributes A and outputs O:
- `image`: the photo's path (as the JSON files show it);
- the output's columns, as its kind gives them (`OutputKind.table_columns`): a
  regression output's value and `<output>.<attribute>`, each attribute's contribution;
  a labelled output's predicted class (or the tags present, `;`-separated, `;` alone
  for none), `<output>.probability` (the most likely label's), `<output>.<label>` (each
  label's logit) and `<output>.<label>.<attribute>` (each contribution to it);
- `<output>.top_k`: the top-k attributes by |contribution| (as the kind ranks them: to
  the predicted class, to the most likely tag), joined by `;`;
- `attribute_scores.<attribute>`: what the model sees;
- `out_of_distribution.flagged` (`yes`/`no`) and `out_of_distribution.distance`: whether the
  photo is unlike the model's training photos, for a model that keeps their
  distribution (`siam_keras.runtime.training_distribution`);
- `latitude`, `longitude`: where the photo was taken, when known (empty otherwise).

A row's numbers are those of the image's JSON file. `siam explain --table`,
`siam-edge explain --table` and `siam score` write this layout. NumPy (and pyarrow for
Parquet, imported when a Parquet table is written).
"""

import csv
import io
import math
import os

import numpy as np

from siam_keras import vocabulary
from siam_keras.runtime.atomic import atomic_output
from siam_keras.runtime.output_kinds import labelled_kinds
from siam_keras.runtime.spreadsheet import spreadsheet_safe, unquoted

#: Table formats by file suffix.
TABLE_SUFFIXES = (".csv", ".parquet")
TOP_K_SEPARATOR = ";"
#: Rows buffered before a Parquet row group is written.
PARQUET_ROWS = 1024


def checked_table_path(path, what="A table"):
    """`path` if it ends in .csv or .parquet; raises ValueError naming the choices (and
    what the path is: "A table", or a flag)."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(f"{what} must be a {' or '.join(TABLE_SUFFIXES)} file. Received: {path}")
    return os.fspath(path)


def table_schema(columns):
    """The pyarrow schema of a table's columns ({name: "string" or "float"})."""
    import pyarrow as pa

    kinds = {"string": pa.string(), "float": pa.float64()}
    return pa.schema([(name, kinds[kind]) for name, kind in columns.items()])


def table_columns(attribute_names, head):
    """The columns (name -> "string" or "float") of a model's table, in order.

    Args:
        attribute_names: the K attribute names.
        head: `HeadWeights` (or anything with `output_names` and `output_kinds`).
    """
    columns, kinds = {}, head.output_kinds

    def add(kind, *names):
        for name in names:
            if name in columns:  # two names would make one column: a value would be lost
                raise ValueError(
                    f"The table's column names collide at {name!r} (e.g. an attribute named "
                    "`top_k`, a class named `probability`, an output named `image` or "
                    f"`latitude`): rename them. Received: attributes {list(attribute_names)}, "
                    f"outputs {list(head.output_names)}, classes "
                    f"{labelled_kinds(kinds)}")
            columns[name] = kind

    add("string", "image")
    for output in head.output_names:
        for column, kind in kinds[output].table_columns(output, attribute_names):
            add(kind, column)
        add("string", f"{output}.top_k")
    add("float", *(f"{vocabulary.ATTRIBUTE_SCORES}.{a}" for a in attribute_names))
    if getattr(head, "distribution", None) is not None:
        add("string", f"{vocabulary.OUT_OF_DISTRIBUTION}.flagged")
        add("float", f"{vocabulary.OUT_OF_DISTRIBUTION}.distance")
    add("float", "latitude", "longitude")
    return columns


def explanation_row(explanation, index, image, location=None):
    """One image's row: {column: value} (see the module docstring).

    Args:
        explanation: a `SIAMExplanation`.
        index: the image's position in it.
        image: the photo's path, as shown in the JSON files.
        location: (latitude, longitude), a `Location`, or None.
    """
    names = explanation.attribute_names
    row = {"image": image}
    for output, explained in explanation.outputs.items():
        top = explanation.top_attributes(output, index)
        row.update(explained.kind.table_cells(explained, index, names))
        row[f"{output}.top_k"] = TOP_K_SEPARATOR.join(name for name, _ in top)
    for k, attribute in enumerate(names):
        row[f"{vocabulary.ATTRIBUTE_SCORES}.{attribute}"] = float(
            explanation.attribute_scores[index, k])
    flagged = explanation.out_of_distribution
    if flagged is not None:
        row[f"{vocabulary.OUT_OF_DISTRIBUTION}.flagged"] = ("yes" if flagged.flagged[index]
                                                             else "no")
        row[f"{vocabulary.OUT_OF_DISTRIBUTION}.distance"] = float(flagged.distance[index])
    if location is not None:
        latitude, longitude = (location.latitude, location.longitude) if hasattr(
            location, "latitude") else location
        row["latitude"], row["longitude"] = float(latitude), float(longitude)
    return row


class TableWriter:
    """Writes rows of fixed columns to a .csv or .parquet file, atomically: the file
    appears, complete, when the writer is closed without an error (a run that fails or
    is killed leaves an earlier table as it was).

    Args:
        path: the table file (.csv or .parquet).
        columns: {name: "string" or "float"} (`table_columns`).

    Use as a context manager; `write(row)` takes a dict (missing columns are empty).
    """

    def __init__(self, path, columns):
        self.path, self.columns = checked_table_path(path), dict(columns)
        self.parquet = self.path.lower().endswith(".parquet")
        self.num_rows, self._pending = 0, []

    def __enter__(self):
        if self.parquet:
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise ImportError(f"{self.path}: Parquet tables need pyarrow (pip install "
                                  "pyarrow), or write a .csv table") from None
        self._output = atomic_output(self.path)
        temporary = self._output.__enter__()
        if self.parquet:
            self._schema = table_schema(self.columns)
            self._writer = pq.ParquetWriter(temporary, self._schema)
        else:
            self._file = open(temporary, "w", newline="", encoding="utf-8")
            self._writer = csv.DictWriter(self._file, fieldnames=list(self.columns))
            self._writer.writeheader()
        return self

    def write(self, row):
        unknown = sorted(set(row) - set(self.columns))
        if unknown:
            raise ValueError(f"The row has columns the table lacks: {unknown}")
        self.num_rows += 1
        if self.parquet:
            self._pending.append(row)
            if len(self._pending) >= PARQUET_ROWS:
                self._flush()
        else:
            self._writer.writerow({name: _csv_cell(row.get(name)) for name in self.columns})

    def _flush(self):
        import pyarrow as pa

        if self._pending:
            data = {name: [_parquet_cell(row.get(name), kind) for row in self._pending]
                    for name, kind in self.columns.items()}
            self._writer.write_table(pa.Table.from_pydict(data, schema=self._schema))
            self._pending = []

    def __exit__(self, kind, error, traceback):
        try:
            if self.parquet:
                if kind is None:
                    self._flush()
                self._writer.close()
            else:
                self._file.close()
        except BaseException as closing:  # the table is not complete: no file replaced
            self._output.__exit__(type(closing), closing, closing.__traceback__)
            raise
        return self._output.__exit__(kind, error, traceback)


def csv_line(values):
    """One CSV line (no line end) of cell values as `TableWriter` writes them: floats
    exactly (repr), None and NaN empty, text quoted as CSV needs and made safe for
    spreadsheets."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([_csv_cell(value) for value in values])
    return buffer.getvalue()


def _csv_cell(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else spreadsheet_safe(str(value))


def _parquet_cell(value, kind):
    if value is None:
        return None
    return float(value) if kind == "float" else str(value)


def read_table(path):
    """A table written by `TableWriter` as {column: NumPy array} (floats as float64,
    empty CSV cells as NaN): for tests and notebooks."""
    path = checked_table_path(path)
    if path.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return {name: np.asarray(table.column(name).to_pylist(), dtype=object)
                if str(table.schema.field(name).type) == "string"
                else np.asarray(table.column(name).to_numpy(zero_copy_only=False), "float64")
                for name in table.column_names}
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    columns = {}
    for name in (rows[0].keys() if rows else ()):
        values = [row[name] for row in rows]
        try:
            columns[name] = np.asarray([float(v) if v != "" else np.nan for v in values])
        except ValueError:
            columns[name] = np.asarray([unquoted(v) for v in values], dtype=object)
    return columns
