import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from siam_keras.data.manifest import tables as manifest_tables
from siam_keras.data.manifest.tables import ManifestError, read_table

WANTED = ["image", "trees"]


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_excel_csv_with_bom_crlf_and_quoted_commas_and_line_breaks(tmp_path):
    path = write(tmp_path / "photos.csv", "\ufeffimage, trees ,notes\r\n"
                 "a.jpg,1,plain\r\n"
                 "\"b, c.jpg\",0.5,\"two\r\nlines\"\r\n"
                 "\r\n"
                 "d.jpg,,\"x\"\"y\"\r\n")
    columns, records = read_table(path, WANTED, ["image"])
    assert columns == ["image", "trees", "notes"]  # the BOM and the padding are gone
    assert records == [(2, {"image": "a.jpg", "trees": "1"}, None),
                       (3, {"image": "b, c.jpg", "trees": "0.5"}, None),
                       (6, {"image": "d.jpg", "trees": ""}, None)]


def test_tsv_and_ragged_rows(tmp_path):
    path = write(tmp_path / "photos.tsv", "image\ttrees\na.jpg\t1\nb.jpg\nc.jpg\t0\textra\n")
    _, records = read_table(path, WANTED)
    assert records == [(2, {"image": "a.jpg", "trees": "1"}, None),
                       (3, None, "has 1 field; the header has 2"),
                       (4, None, "has 3 fields; the header has 2")]


def test_a_line_too_long_to_read_stops_the_file_at_its_record(tmp_path, monkeypatch):
    """A line skipped unread may open a quoted cell that goes on: reading on from the next
    line could take the cell's text for rows, so the file stops there, saying so."""
    monkeypatch.setattr(manifest_tables, "MAX_LINE_CHARS", 1000)
    path = write(tmp_path / "photos.csv", "image,trees\na.jpg,1\nb.jpg,\"" + "x" * 5000
                 + "\ninjected.jpg,1\n\"\nc.jpg,0\n")
    _, records = read_table(path, WANTED)
    assert records[0] == (2, {"image": "a.jpg", "trees": "1"}, None)
    assert records[1] == (3, None, "line 3 is longer than 1,000 characters; the rest of the "
                                   "file, from line 3 on, is not read")
    assert len(records) == 2


def test_a_cell_over_128_kb_is_one_record_its_lines_never_rows(tmp_path):
    """Python's csv stops at 131,072 characters a cell and read on inside the quote: a
    140 KB cell holding a line break and a row made that row a training row."""
    cell = "x" * 140_000 + "\ninjected.jpg,1"
    path = write(tmp_path / "photos.csv", f'image,trees\na.jpg,"{cell}"\nb.jpg,0\n')
    _, records = read_table(path, WANTED)
    assert records[0] == (2, None, f"has a cell of {len(cell):,} characters; at most "
                                   f"{manifest_tables.MAX_CELL_CHARS:,} are read")
    assert records[1] == (4, {"image": "b.jpg", "trees": "0"}, None)
    assert len(records) == 2


@pytest.mark.slow
def test_a_multi_line_cell_of_100_mb_is_one_problem_and_the_row_after_it_is_kept(tmp_path):
    """It gave 99,871 problems, one a line, and lost the real row after it."""
    cell = ("y" * 999 + "\n") * 100_000
    path = write(tmp_path / "photos.csv", f'image,trees\na.jpg,"{cell}"\nb.jpg,1\n')
    _, records = read_table(path, WANTED)
    assert records == [(2, None, f"has a cell of {len(cell):,} characters; at most "
                                 f"{manifest_tables.MAX_CELL_CHARS:,} are read"),
                       (100_003, {"image": "b.jpg", "trees": "1"}, None)]


def test_a_cell_past_the_field_limit_stops_the_file_at_its_record(tmp_path, monkeypatch):
    monkeypatch.setattr(manifest_tables, "MAX_FIELD_CHARS", 10_000)
    path = write(tmp_path / "photos.csv", 'image,trees\na.jpg,"' + ("z" * 99 + "\n") * 200
                 + 'injected.jpg,1\n"\nb.jpg,1\n')
    _, records = read_table(path, WANTED)
    assert len(records) == 1 and records[0][:2] == (2, None)
    assert "field larger than field limit" in records[0][2]
    assert "the rest of the file, from line 2 on, is not read" in records[0][2]


def test_json_lines_problems_are_named_by_line(tmp_path, monkeypatch):
    monkeypatch.setattr(manifest_tables, "MAX_LINE_CHARS", 100)
    path = write(tmp_path / "photos.jsonl", "\n".join([
        json.dumps({"image": "a.jpg", "trees": 1, "other": [1]}),
        "{not json",
        "[1, 2]",
        '{"image": "b.jpg", "image": "c.jpg"}',
        "",
        json.dumps({"image": "d" * 200}),
        json.dumps({"image": "e.jpg", "trees": None}),
    ]) + "\n")
    columns, records = read_table(path, WANTED)
    assert columns == ["image", "trees", "other"]
    assert records[0] == (1, {"image": "a.jpg", "trees": 1}, None)
    assert records[1][:2] == (2, None)
    assert records[1][2].startswith("invalid JSON (Expecting property")
    assert records[2] == (3, None, 'is a JSON list, not an object ({"column": value, ...})')
    assert records[3] == (4, None, "invalid JSON (the keys ['image'] appear more than once)")
    assert records[4] == (6, None, "line 6 is longer than 100 characters")
    assert records[5] == (7, {"image": "e.jpg", "trees": None}, None)


def test_json_nested_too_deeply_is_a_problem_not_a_crash(tmp_path):
    path = write(tmp_path / "photos.ndjson", '{"image": "a.jpg"}\n' + "[" * 100_000 + "]" * 100_000)
    _, records = read_table(path, WANTED)
    assert records[1][:2] == (2, None) and records[1][2].startswith("invalid JSON (")


def test_parquet_rows_are_numbered_from_one(tmp_path):
    path = tmp_path / "photos.parquet"
    pq.write_table(pa.table({"image": ["a.jpg", "b.jpg", None], "trees": [1.0, None, 0.5],
                             "flag": [True, False, True]}), path, row_group_size=2)
    columns, records = read_table(path, WANTED + ["flag"])
    assert columns == ["image", "trees", "flag"]
    assert records == [(1, {"image": "a.jpg", "trees": 1.0, "flag": True}, None),
                       (2, {"image": "b.jpg", "trees": None, "flag": False}, None),
                       (3, {"image": None, "trees": 0.5, "flag": True}, None)]


@pytest.mark.parametrize("name, data, message", [
    ("photos.txt", b"image\n", (r"unknown manifest format '\.txt'\. Accepted suffixes: \.csv, "
                               r"\.tsv, \.parquet, \.jsonl, \.ndjson")),
    ("photos.csv", b"", r"photos\.csv is empty; expected a header line"),
    ("photos.csv", b"\r\n , \r\n", r"photos\.csv is empty"),
    ("photos.jsonl", b"\n\n", r"photos\.jsonl is empty; expected one JSON object per line"),
    ("photos.jsonl", b"[1]\n{bad\n", r"no line is a JSON object \(line 1: is a JSON list"),
    ("photos.csv", b"image,trees\r\n", r"photos\.csv has a header but no rows"),
    ("photos.csv", b"image,trees,image\na,1,b\n", r"names the columns \['image'\] more than once"),
    ("photos.csv", b"Image,trees\na,1\n", (r"photos\.csv has no column 'image' \(column names are "
                                         r"case-sensitive: 'Image'\?\)\. Its columns: "
                                         r"\['Image', 'trees'\]")),
    ("photos.csv", b"image;trees\na;1\n", r"It looks separated by semicolons"),
    ("photos.csv", "image,trees\na.jpg,1\nb.jpg,0\nc\xe9.jpg,1\n".encode("latin-1"),
     r"photos\.csv: line 4 is not UTF-8 \(byte 0xe9\)"),
    ("photos.csv", "image,trees\na.jpg,1\n".encode("utf-16"), r"is UTF-16 text"),
    ("photos.parquet", b"image,trees\na.jpg,1\n", r"is not a Parquet file pyarrow can read"),
])
def test_whole_file_problems_raise_naming_the_file(tmp_path, name, data, message):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(ManifestError, match=message):
        read_table(tmp_path / name, WANTED, ["image"])


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.csv: no such manifest file"):
        read_table(tmp_path / "none.csv", WANTED)
