"""`siam score` end to end on the DirectRunner: the table equals `siam explain --table`."""

import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("apache_beam")

from siam_keras.cli import main
from siam_keras.runtime.explanation_table import read_table
from siam_keras.runtime.images import ImageError, read_photo
from tests.image_cases import BIG_BEN, write_gps_photo
from tests.real_photos import real_photos

pytestmark = pytest.mark.slow

ONE_WORKER = ["--runner", "DirectRunner", "--direct_num_workers=1"]
#: PNGs (colour, grey), large JPEGs (decoded at the model's scale) and small ones (not).
GOOD = ("astronaut.png", "coffee.png", "chelsea.png", "camera.png", "rocket.jpg",
        "grace_hopper.jpg", "rocket_small.jpg", "ben.jpg")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A folder of real photos, a corrupt one, and a manifest that also lists a missing
    photo and a row without one."""
    folder = tmp_path_factory.mktemp("score_photos")
    paths = {path.name: path for path in real_photos()}
    for name in GOOD[:6]:
        shutil.copy(paths[name], folder / name)
    with Image.open(paths["rocket.jpg"]) as rocket:
        rocket.resize((40, 60)).save(folder / "rocket_small.jpg", quality=90)
    write_gps_photo(folder / "ben.jpg", BIG_BEN)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 40)
    with open(folder / "photos.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["image", "lat", "lon"])
        writer.writerow(["astronaut.png", "48.85", "2.35"])
        writer.writerows([name, "", ""] for name in (*GOOD[1:], "corrupt.jpg", "missing.jpg"))
        writer.writerow(["", "1", "2"])
    return folder


@pytest.fixture(scope="module")
def explained(photos, tiny_models, tmp_path_factory):
    """`siam explain --table` on the good photos: (table by file name, JSON folder)."""
    out = tmp_path_factory.mktemp("explained")
    code = main(["explain", *[str(photos / name) for name in GOOD], "--model", str(tiny_models[0]),
                 "--out", str(out), "--figures", "none", "--table", str(out / "table.parquet"),
                 "--top-k", "4"])
    assert code == 0
    return by_name(read_table(out / "table.parquet")), out


def by_name(table):
    """{file name: {column: value}} of a table."""
    return {str(image).rsplit("/", 1)[-1]: {column: values[i] for column, values in table.items()}
            for i, image in enumerate(table["image"])}


def assert_same_rows(scored, explained, tolerance=1e-5):
    assert sorted(scored) == sorted(GOOD)
    for name, expected in explained.items():
        row = scored[name]
        assert list(row) == list(expected), name  # the same columns, in order
        for column, value in expected.items():
            if column in ("image", "latitude", "longitude"):
                continue
            if isinstance(value, str):
                assert row[column] == value, (name, column)
            else:
                # relative beyond 1: a distance from the training photos amplifies rounding
                assert abs(row[column] - value) <= tolerance * max(1.0, abs(value)), (
                    name, column, row[column], value)


def failures(path):
    table = read_table(path)
    return sorted((str(image).rsplit("/", 1)[-1], str(reason))
                  for image, reason in zip(table["image"], table["reason"]))


def test_a_manifest_scored_with_a_keras_model_equals_siam_explain(photos, tiny_models, explained,
                                                                  tmp_path, capsys):
    code = main(["score", "--model", str(tiny_models[0]), "--input", str(photos / "photos.csv"),
                 "--output", str(tmp_path / "scores.parquet"), "--failures",
                 str(tmp_path / "failures.csv"), "--top-k", "4", "--batch-size", "4",
                 "--latitude-column", "lat", "--longitude-column", "lon", *ONE_WORKER])
    assert code == 0
    assert "Scored 8 of 11 photos" in capsys.readouterr().out
    scored = by_name(read_table(tmp_path / "scores.parquet"))
    assert_same_rows(scored, explained[0])
    astronaut = scored["astronaut.png"]
    assert (astronaut["latitude"], astronaut["longitude"]) == (48.85, 2.35)
    assert scored["ben.jpg"]["latitude"] == pytest.approx(explained[0]["ben.jpg"]["latitude"])
    assert abs(scored["ben.jpg"]["latitude"] - 51.5007) < 1e-3  # its EXIF position
    assert np.isnan(scored["coffee.png"]["latitude"])
    listed = failures(tmp_path / "failures.csv")
    assert [name for name, _ in listed] == ["corrupt.jpg", "missing.jpg", "photos.csv:12"]
    with pytest.raises(ImageError) as unreadable:
        read_photo(photos / "corrupt.jpg")
    # The reader's own reason, without the name the image column already gives.
    assert listed[0][1] == str(unreadable.value).split(": ", 1)[1]
    assert listed[1][1] == "no such file"
    assert listed[2][1] == "column 'image': no image (the cell is empty)"


def test_exported_models_score_a_pattern_as_the_keras_model_explains(photos, tiny_export, explained,
                                                                     tmp_path):
    # Each table in either format: the scores and the failures.
    models = {"saved_model": (tiny_export / "saved_model" / "1", "scores.csv", "failures.parquet"),
              "tflite": (tiny_export / "tflite" / "model_float32.tflite", "scores.parquet",
                         "failures.csv")}
    for kind, (model, table, failed) in models.items():
        out = tmp_path / kind
        code = main(["score", "--model", str(model), "--input", str(photos / "*.*g"),
                     "--output", str(out / table), "--failures", str(out / failed),
                     "--explanations", str(out / "json"), "--top-k", "4", *ONE_WORKER])
        assert code == 0, kind
        assert_same_rows(by_name(read_table(out / table)), explained[0])
        assert [name for name, _ in failures(out / failed)] == ["corrupt.jpg"]
        for name in GOOD:
            stem = name.rsplit(".", 1)[0]
            ours = json.loads((out / "json" / f"{stem}.json").read_text(encoding="utf-8"))
            theirs = json.loads((explained[1] / f"{stem}.json").read_text(encoding="utf-8"))
            assert ours.keys() == theirs.keys(), (kind, name)
            assert ours["model"] == str(model) and ours["source"] == theirs["source"]
            for output, entry in theirs["outputs"].items():
                top = ours["outputs"][output]["top_k"]
                assert [t["attribute"] for t in top] == [t["attribute"] for t in entry["top_k"]]
                np.testing.assert_allclose([t["contribution"] for t in top],
                                           [t["contribution"] for t in entry["top_k"]], atol=1e-5)
                assert ours["outputs"][output]["value"] == pytest.approx(entry["value"], abs=1e-5)
            np.testing.assert_allclose(ours["attribute_maps"]["trees"],
                                       theirs["attribute_maps"]["trees"], atol=1e-5)
