import csv
import json
import math
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from siam_keras.data import ManifestError, fix_classes, read_manifests
from siam_keras.data.manifest.reading import RowProblem, manifest_split
from siam_keras.runtime.output_kinds import Classification, MultiLabel, Regression

ATTRIBUTES = ["trees", "water"]
OUTPUTS = {"biodiversity": "regression", "habitat": "classification"}
COLUMNS = ["image", "split", "trees", "water", "biodiversity", "habitat", "lat", "lon"]
TABLE = [
    ["a.jpg", "train", 1.0, 0.25, 3.5, "forest", 51.5, -0.125],
    ["sub/b.jpg", "validation", 0.0, None, None, "lake", None, None],
    ["c é.jpg", "test", None, 1.0, -2.0, None, 10.0, 20.0],
    ["d.jpg", "train", 0.5, 0.0, 1e-3, "lake", -33.9, 151.2],
]


def write_csv(path, rows, columns=COLUMNS, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, delimiter=delimiter)
        writer.writerow(columns)
        writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
    return path


def write_jsonl(path, rows, columns=COLUMNS):
    lines = [json.dumps({c: v for c, v in zip(columns, row) if v is not None}) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_parquet(path, rows, columns=COLUMNS):
    pq.write_table(pa.table({c: [row[j] for row in rows] for j, c in enumerate(columns)}), path)
    return path


def read(files, **kwargs):
    options = {"image_column": "image", "attribute_columns": ATTRIBUTES, "outputs": OUTPUTS,
               "split_column": "split", "latitude_column": "lat", "longitude_column": "lon"}
    return read_manifests(files, **{**options, **kwargs})


def plain(files, attribute_columns=("trees",), outputs=None, **kwargs):
    """read_manifests without split and location columns."""
    return read_manifests(files, "image", list(attribute_columns), outputs or {}, **kwargs)


def content(row):
    """A row's values, comparable with == (NaN as None)."""
    def plain(value):
        return None if isinstance(value, float) and math.isnan(value) else value
    return (row.image, row.split, [plain(float(v)) for v in row.attributes],
            {k: plain(v) for k, v in row.outputs.items()}, row.location)


def test_every_format_gives_the_same_rows(tmp_path):
    files = [write_csv(tmp_path / "m.csv", TABLE),
             write_csv(tmp_path / "m.tsv", TABLE, delimiter="\t"),
             write_jsonl(tmp_path / "m.jsonl", TABLE), write_parquet(tmp_path / "m.parquet", TABLE)]
    results = [read(path) for path in files]
    expected = [(str(tmp_path / "a.jpg"), "train", [1.0, 0.25],
                 {"biodiversity": 3.5, "habitat": "forest"}, (51.5, -0.125)),
                (str(tmp_path / "sub" / "b.jpg"), "validation", [0.0, None],
                 {"biodiversity": None, "habitat": "lake"}, None),
                (str(tmp_path / "c é.jpg"), "test", [None, 1.0],
                 {"biodiversity": -2.0, "habitat": None}, (10.0, 20.0)),
                (str(tmp_path / "d.jpg"), "train", [0.5, 0.0],
                 {"biodiversity": 1e-3, "habitat": "lake"}, (-33.9, 151.2))]
    for path, (rows, problems) in zip(files, results):
        assert not problems, path
        assert [content(row) for row in rows] == expected, path
        assert all(row.source == str(path) and row.attributes.dtype == np.float32 for row in rows)
    assert [[row.line for row in rows] for rows, _ in results] == [[2, 3, 4, 5], [2, 3, 4, 5],
                                                                   [1, 2, 3, 4], [1, 2, 3, 4]]
    with pytest.raises(ValueError):
        results[0][0][0].attributes[0] = 0.0  # read-only


BAD_ROWS = [
    (",train,1,2,,", "column 'image': no image (the cell is empty)"),
    ("b.jpg,train,abc,,,", "column 'trees': 'abc' is not a number"),
    ("c.jpg,train,1.5,,,", "column 'trees': '1.5' is outside [0, 1]"),
    ("d.jpg,train,0,inf,,", "column 'biodiversity': 'inf' is not a finite number"),
    ("e.jpg,train,0,x,,", "column 'biodiversity': 'x' is not a number"),
    ("f.jpg,val,1,,,", ("column 'split': 'val' is not a split; expected one of train, validation, "
                        "test")),
    ("f2.jpg,,1,,,", ("column 'split': no split (the cell is empty); expected one of train, "
                     "validation, test")),
    ("g.jpg,train,1,,95,0", "column 'lat': '95' is outside [-90, 90]"),
    ("g2.jpg,train,1,,0,-180.5", "column 'lon': '-180.5' is outside [-180, 180]"),
    ("h.jpg,train,1,,51,", "column 'lon' is empty but 'lat' is not"),
    ("i.jpg,train,,,,", "no label: every attribute and output is empty"),
    ("j.jpg,train,1", "has 3 fields; the header has 6"),
    ('k.jpg,train,"0,5",,,', ("column 'trees': '0,5' is not a number (use a point as the decimal "
                              "mark)")),
    ("l.jpg,train,1_0,,,", "column 'trees': '1_0' is not a number"),
    ("l\x00.jpg,train,1,,,", ("column 'image': 'l\\x00.jpg' holds a control character (NUL, line "
                             "break, ...)")),
    ("ok.jpg,test,0,,,", "the image is also on line 2; list each photo once"),
    ("m.jpg,train,abc,-inf,,", ("column 'trees': 'abc' is not a number; column 'biodiversity': "
                               "'-inf' is not a finite number")),
    # finite as float64, infinite in float32: training stopped as "diverged", naming no row
    ("n.jpg,train,0,1e39,,", ("column 'biodiversity': '1e39' is too large: the model computes "
                              "in float32, where its squared error overflows (at most 1e+15 in "
                              "size; rescale the column)")),
]


def test_each_bad_row_is_named_by_file_and_line_and_the_rest_go_on(tmp_path):
    path = tmp_path / "photos.csv"
    path.write_text("image,split,trees,biodiversity,lat,lon\nok.jpg,train,1,,,\n" + ",,,,,\n"
                    + "\n".join(text for text, _ in BAD_ROWS) + "\nlast.jpg,test,0,2,,\n",
                    encoding="utf-8")
    rows, problems = read(path, attribute_columns=["trees"],
                          outputs={"biodiversity": "regression"})
    assert [row.image for row in rows] == [str(tmp_path / "ok.jpg"), str(tmp_path / "last.jpg")]
    assert [str(p) for p in problems] == [f"{path}:{n}: {message}"
                                          for n, (_, message) in enumerate(BAD_ROWS, 4)]


def test_line_numbers_count_quoted_line_breaks_and_parquet_says_row(tmp_path):
    path = tmp_path / "photos.csv"
    path.write_text('image,trees,notes\r\na.jpg,1,"one\r\ntwo\r\nthree"\r\nb.jpg,x,\r\n',
                    encoding="utf-8")
    _, problems = plain(path)
    assert [str(p) for p in problems] == [f"{path}:5: column 'trees': 'x' is not a number"]
    assert str(RowProblem("m.parquet", 14, "why")) == "m.parquet row 14: why"
    assert str(RowProblem("photos.csv", 14, "why")) == "photos.csv:14: why"


@pytest.mark.parametrize("cell, value", [
    ("0.5", 0.5), (" 1 ", 1.0), ("1e-3", float(np.float32(1e-3))), (".5", 0.5), ("TRUE", 1.0),
    ("false", 0.0),
    ("NaN", None), ("nan", None), ("", None), ("NA", None), ("N/A", None), ("null", None),
])
def test_numbers_and_missing_values_in_text_cells(tmp_path, cell, value):
    path = tmp_path / "m.csv"
    path.write_text(f"image,trees,water\na.jpg,\"{cell}\",1\n", encoding="utf-8")
    rows, problems = plain(path, ATTRIBUTES)
    assert not problems and content(rows[0])[2] == [value, 1.0]


def test_json_booleans_numbers_and_labels(tmp_path):
    table = [["a.jpg", True, False, 7, 3], ["b.jpg", 0, 1, 2, "none"], ["c.jpg", 1, 0, 2, " lake "],
             ["d.jpg", 1, 0, 2, "None"], ["e.jpg", 1, 0, 2, True]]
    path = write_jsonl(tmp_path / "m.jsonl", table,
                       columns=["image", "trees", "water", "biodiversity", "habitat"])
    rows, problems = plain(path, ATTRIBUTES, OUTPUTS)
    assert not problems
    assert content(rows[0])[2:4] == ([1.0, 0.0], {"biodiversity": 7.0, "habitat": "3"})
    assert [row.outputs["habitat"] for row in rows[1:]] == ["none", "lake", None, "true"]


def test_image_references(tmp_path):
    folder = tmp_path / "manifests"
    folder.mkdir()
    path = folder / "fotos_ñ.csv"
    images = ["../photos/x.jpg", "/abs/y.jpg", "gs://bucket/z.jpg", "file:///srv/p%20q.jpg",
              "sub\\w.jpg", "café/ü.jpg"]
    path.write_text("image,trees\n" + "".join(f"{image},1\n" for image in images), encoding="utf-8")
    rows, problems = plain(path)
    assert not problems
    assert [row.image for row in rows] == [
        str(tmp_path / "photos" / "x.jpg"), "/abs/y.jpg", "gs://bucket/z.jpg", "/srv/p q.jpg",
        str(folder / "sub" / "w.jpg"), str(folder / "café" / "ü.jpg")]


@pytest.mark.skipif(os.name == "nt", reason="a drive path is a path on Windows")
def test_a_windows_drive_path_is_a_problem_elsewhere(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("image,trees\nC:\\photos\\a.jpg,1\nb.jpg,1\n", encoding="utf-8")
    rows, problems = plain(path)
    assert len(rows) == 1 and str(problems[0]) == (
        f"{path}:2: column 'image': 'C:\\\\photos\\\\a.jpg' is a Windows path; on this system "
        "write it relative to the manifest's folder")


def test_two_files_attributes_in_one_outputs_in_the_other(tmp_path):
    attributes = write_csv(tmp_path / "attributes.csv", [["a.jpg", 1, 0], ["b.jpg", 0, 0.5]],
                           columns=["image", "trees", "water"])
    scores = write_jsonl(tmp_path / "scores.jsonl", [["c.jpg", 4.5, "lake"], ["d.jpg", 2.0, None]],
                         columns=["image", "biodiversity", "habitat"])
    rows, problems = plain([attributes, scores], ATTRIBUTES, OUTPUTS)
    assert not problems
    assert [content(row)[2:] for row in rows] == [
        ([1.0, 0.0], {"biodiversity": None, "habitat": None}, None),
        ([0.0, 0.5], {"biodiversity": None, "habitat": None}, None),
        ([None, None], {"biodiversity": 4.5, "habitat": "lake"}, None),
        ([None, None], {"biodiversity": 2.0, "habitat": None}, None)]
    assert [row.source for row in rows] == [str(attributes)] * 2 + [str(scores)] * 2


def test_hashed_split_is_stable_and_80_10_10(tmp_path):
    # Pinned: a change of hash would move photos between splits of a published manifest.
    assert [manifest_split(f"photos/{c}.jpg") for c in "abcl"] == [
        "train", "train", "validation", "test"]
    splits = [manifest_split(f"img/{i}.jpg") for i in range(10_000)]
    assert [splits.count(s) / 1e4 for s in ("train", "validation", "test")] == pytest.approx(
        [0.8, 0.1, 0.1], abs=0.015)
    # The reference as written decides, wherever the manifest is and whatever the slashes.
    for folder, name in (("one", "photos/c.jpg"), ("two", "photos\\c.jpg")):
        (tmp_path / folder).mkdir()
        write_csv(tmp_path / folder / "m.csv", [[name, 1]], columns=["image", "trees"])
    rows = [plain(tmp_path / folder / "m.csv")[0][0] for folder in ("one", "two")]
    assert [row.split for row in rows] == ["validation", "validation"]


def test_a_photo_in_two_files_keeps_one_split(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "shared").mkdir()
    # A photo whose two references hash to different splits: the first file's split wins.
    name = next(f"p{i}.jpg" for i in range(1000)
                if manifest_split(f"../shared/p{i}.jpg") != manifest_split(f"p{i}.jpg"))
    first = write_csv(tmp_path / "a" / "m.csv", [[f"../shared/{name}", 1]],
                      columns=["image", "trees"])
    second = write_csv(tmp_path / "shared" / "m.csv", [[name, 0]], columns=["image", "trees"])
    rows, _ = plain([first, second])
    assert rows[0].image == rows[1].image and rows[0].split == rows[1].split == manifest_split(
        f"../shared/{name}")
    # With a split column, two splits for one photo is a problem (a leak from train to test).
    first = write_csv(tmp_path / "a" / "s.csv", [["../shared/x.jpg", "train", 1]],
                      columns=["image", "split", "trees"])
    second = write_csv(tmp_path / "shared" / "s.csv", [["x.jpg", "test", 1]],
                       columns=["image", "split", "trees"])
    rows, problems = plain([first, second], split_column="split")
    assert len(rows) == 1 and str(problems[0]) == (
        f"{second}:2: the image is in split 'train' on {first}:2 but 'test' here; a photo must be "
        "in one split")


def test_attacker_cells(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("image,trees\n" + '"' + "x" * 200_000 + '",1\n' + "y" * 5000 + ",1\n"
                    + "../" * 50 + "etc/passwd,1\nok.jpg,1\n", encoding="utf-8")
    rows, problems = plain(path)
    assert [row.image for row in rows] == ["/etc/passwd", str(tmp_path / "ok.jpg")]  # `..` resolved
    assert [p.line for p in problems] == [2, 3]
    assert problems[0].message == "has a cell of 200,000 characters; at most 65,536 are read"
    assert problems[1].message == ("column 'image': the image reference is 5,000 characters "
                                   "long; at most 4096 are accepted")


def test_fix_classes_from_the_training_split(tmp_path):
    rows = [["a.jpg", "train", "forest", 1], ["b.jpg", "train", "lake", 1],
            ["c.jpg", "test", "swamp", 1], ["d.jpg", "validation", "lake", 1],
            ["e.jpg", "test", None, 1], ["f.jpg", "train", "forest", 1]]
    path = write_csv(tmp_path / "m.csv", rows, columns=["image", "split", "habitat", "trees"])
    read_rows, _ = plain(path, outputs={"habitat": "classification"}, split_column="split")
    kinds, kept, problems = fix_classes(read_rows, {"habitat": "classification",
                                                    "x": "regression"})
    assert kinds == {"habitat": Classification(("forest", "lake")), "x": Regression()}
    assert [row.line for row in kept] == [2, 3, 5, 6, 7]
    assert [str(p) for p in problems] == [(
        f"{path}:4: class 'swamp' of output 'habitat' is not among the 2 classes seen in "
        "training: 'forest', 'lake'")]
    one_class = [row for row in read_rows if row.outputs["habitat"] != "lake"]
    with pytest.raises(ManifestError, match=r"'habitat' needs at least 2 classes in the training "
                                            r"split\. Received: 1 \['forest'\]"):
        fix_classes(one_class, {"habitat": "classification"})


def test_a_labelled_output_the_model_lacks_takes_the_training_splits_labels(tmp_path):
    """siam evaluate gives the model's labels; a manifest column the model has no output
    for once raised a bare KeyError."""
    rows = [["a.jpg", "train", "forest", "x;y", 1], ["b.jpg", "train", "lake", ";", 1],
            ["c.jpg", "test", "lake", "z", 1]]
    path = write_csv(tmp_path / "m.csv", rows,
                     columns=["image", "split", "habitat", "tags", "trees"])
    outputs = {"habitat": "classification", "tags": "multilabel"}
    read_rows, _ = plain(path, outputs=outputs, split_column="split")
    kinds, kept, problems = fix_classes(read_rows, outputs, {"habitat": ("forest", "lake")})
    assert kinds["tags"] == MultiLabel(("x", "y")) and [row.line for row in kept] == [2, 3]
    assert [str(p) for p in problems] == [
        f"{path}:4: tag 'z' of output 'tags' is not among the 2 tags seen in training: 'x', 'y'"]


def test_manifest_errors(tmp_path):
    good = write_csv(tmp_path / "good.csv", [["a.jpg", "train", 1]],
                     columns=["image", "split", "trees"])
    no_split = write_csv(tmp_path / "no_split.csv", [["a.jpg", 1]], columns=["image", "trees"])
    no_image = write_csv(tmp_path / "no_image.csv", [["a.jpg", 1]], columns=["photo", "trees"])
    no_label = write_csv(tmp_path / "no_label.csv", [["a.jpg", "x"]], columns=["image", "notes"])
    unusable = write_csv(tmp_path / "bad.csv", [["a.jpg", 2], ["", 1]], columns=["image", "trees"])
    header_only = tmp_path / "header.csv"
    header_only.write_text("image,trees\n")
    simple = {"attribute_columns": ["trees"], "outputs": {}, "latitude_column": None,
              "longitude_column": None}
    cases = [
        ([], simple, r"at least one file"),
        ([good], {**simple, "outputs": {"trees2": "ordinal"}},
         (r"Output kinds must be one of regression, classification, multilabel\. "
          r"Received: \{'trees2': 'ordinal'\}")),
        ([good], {**simple, "attribute_columns": []}, r"at least one attribute or output column"),
        ([good], {**simple, "latitude_column": "lat"},
         r"latitude_column and longitude_column go together"),
        ([good], {**simple, "outputs": {"trees": "regression"}},
         r"Configured more than once: \['trees'\]"),
        ([good, no_image], {**simple, "split_column": None},
         rf"{no_image} has no column 'image'\. Its columns: \['photo', 'trees'\]"),
        ([good, no_split], simple, rf"{no_split} has no column 'split'"),
        ([good], {**simple, "attribute_columns": ["trees", "water"]},
         rf"The attribute column 'water' is in none of the manifest files \({good}\)"),
        ([good], {**simple, "outputs": {"habitat": "classification"}},
         r"The output column 'habitat' is in none"),
        ([good, no_label], {**simple, "split_column": None},
         rf"{no_label} has none of the label columns"),
        ([unusable], {**simple, "split_column": None},
         (rf"None of the 2 rows of {unusable} can be used\. The first problems:\n  "
          rf"{unusable}:2: column 'trees': '2' is outside \[0, 1\]\n  .*bad.csv:3: "
          r"column 'image': no image")),
        ([header_only], {**simple, "split_column": None},
         rf"{header_only} has a header but no rows"),
        ([tmp_path / "m.xlsx"], simple,
         r"Accepted suffixes: \.csv, \.tsv, \.parquet, \.jsonl, \.ndjson"),
    ]
    for files, options, message in cases:
        with pytest.raises(ManifestError, match=message):
            read_manifests(files, "image", **{"split_column": "split", **options})
    with pytest.raises(FileNotFoundError, match="none.csv: no such manifest file"):
        read_manifests([tmp_path / "none.csv"], "image", ["trees"], {})
    with pytest.raises(TypeError, match="attribute_columns must be a list"):
        read_manifests([good], "image", "trees", {})


def test_photos_alone_are_read_when_labels_are_not_required(tmp_path):
    """`siam score` needs only the image column (and, when given, the locations)."""
    path = tmp_path / "photos.csv"
    path.write_text("image,lat,lon,note\na.jpg,51.5,-0.12,x\nb.jpg,,,y\n,1,2,z\na.jpg,1,2,twice\n",
                    encoding="utf-8")
    with pytest.raises(ManifestError, match="at least one attribute or output column"):
        read_manifests(path, "image", [], {})
    rows, problems = read_manifests(path, "image", [], {}, latitude_column="lat",
                                    longitude_column="lon", require_labels=False)
    assert [os.path.basename(row.image) for row in rows] == ["a.jpg", "b.jpg"]
    assert rows[0].location == (51.5, -0.12) and rows[1].location is None
    assert rows[0].attributes.shape == (0,) and rows[0].outputs == {}
    assert [(p.line, p.message) for p in problems] == [
        (4, "column 'image': no image (the cell is empty)"),
        (5, "the image is also on line 2; list each photo once")]
