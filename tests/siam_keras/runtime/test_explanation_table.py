"""Explanations as a table (`--table`), and progress lines for logs."""

import io
import json
import shutil

import numpy as np
import pytest

from siam_keras.app.progress import Progress
from siam_keras.cli import main
from siam_keras.runtime.explanation_table import TableWriter, read_table
from tests.real_photos import real_photos


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("table_photos")
    for path in real_photos()[:4]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_the_table_holds_the_json_files_numbers(photos, tiny_models, tmp_path, suffix):
    table = tmp_path / f"scores{suffix}"
    assert main(["explain", "--model", str(tiny_models[0]), str(photos), "--out",
                 str(tmp_path / "out"), "--figures", "none", "--table", str(table),
                 "--top-k", "3"]) == 0
    columns = read_table(table)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["table"].endswith(f"scores{suffix}") and len(columns["image"]) == 4
    assert not list((tmp_path / "out").glob("*.png"))  # --figures none
    for row, entry in enumerate(summary["explained"]):
        record = json.loads((tmp_path / "out" / entry["json"]).read_text())
        assert columns["image"][row] == record["image"]
        assert set(entry) >= {"scenicness", "scenicness_variance"}  # every output
        for output, values in record["outputs"].items():
            assert columns[output][row] == pytest.approx(values["value"], abs=1e-6)
            for attribute, contribution in values["contributions"].items():
                assert columns[f"{output}.{attribute}"][row] == pytest.approx(contribution, abs=1e-6)
            assert columns[f"{output}.top_k"][row] == ";".join(t["attribute"] for t in values["top_k"])
        for attribute, score in record["attribute_scores"].items():
            assert columns[f"attribute_scores.{attribute}"][row] == pytest.approx(score, abs=1e-6)
        assert np.isnan(columns["latitude"][row])  # no location known


def test_a_classification_output_has_a_column_per_class_and_attribute(tmp_path, rng):
    from siam_keras.runtime.decomposition import HeadWeights
    from siam_keras.runtime.explanation import SIAMExplanation
    from siam_keras.runtime.explanation_table import explanation_row, table_columns
    from tests.siam_keras.runtime.test_class_explanation import CLASSES, NAMES, _head, _predictions

    head = HeadWeights(NAMES, {"landscape": _head(rng, False)})
    maps = np.abs(rng.normal(size=(2, 4, 4, 4))).astype("float32")
    explanation = SIAMExplanation.from_predictions(head, _predictions(head.outputs["landscape"], maps),
                                                   (32, 32))
    columns = table_columns(NAMES, head)
    assert "landscape.town.road" in columns and columns["landscape"] == "string"
    with TableWriter(tmp_path / "t.parquet", columns) as table:
        for i in range(2):
            table.write(explanation_row(explanation, i, f"photo{i}.jpg", (46.5, 7.25)))
    read = read_table(tmp_path / "t.parquet")
    predicted = CLASSES[int(np.argmax(explanation.output("landscape").value[1]))]
    assert read["landscape"][1] == predicted and read["latitude"][1] == 46.5
    assert read["landscape.forest.water"][0] == pytest.approx(
        float(explanation.output("landscape").contributions[0, 0, 1]))


def test_a_run_that_fails_leaves_the_earlier_table_whole(tmp_path):
    table = tmp_path / "t.csv"
    with TableWriter(table, {"image": "string", "x": "float"}) as writer:
        writer.write({"image": "a.jpg", "x": 1.0})
    before = table.read_bytes()
    with pytest.raises(RuntimeError):
        with TableWriter(table, {"image": "string", "x": "float"}) as writer:
            writer.write({"image": "b.jpg", "x": 2.0})
            raise RuntimeError("killed")
    assert table.read_bytes() == before and len(list(tmp_path.iterdir())) == 1
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        TableWriter(tmp_path / "t.xlsx", {"image": "string"})


def test_progress_in_a_log_is_a_line_every_ten_seconds_with_rate_and_eta():
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(100, "siam explain", stream=stream, clock=lambda: now[0])
    for _ in range(99):
        now[0] += 0.5
        progress.step("x.jpg")
    now[0] += 0.5
    progress.step("x.jpg")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5  # at 10, 20, 30, 40 s, and the end
    assert lines[0] == "siam explain: 20/100 images, 2.0/s, ETA 0:40"
    assert lines[-1].startswith("siam explain: 100/100 images, 2.0/s, ETA 0:00")


def test_names_that_would_share_a_column_are_refused():
    from siam_keras.runtime.decomposition import HeadWeights, OutputHead
    from siam_keras.runtime.explanation_table import table_columns

    head = OutputHead(np.zeros((2, 2, 2, 1), "float32"), np.zeros((2, 1), "float32"), 0.0)
    assert len(table_columns(("a", "b"), HeadWeights(("a", "b"), {"s": head}))) == 9
    for attributes, output in ((("top_k", "b"), "s"), (("a", "b"), "image"),
                               (("a", "b"), "latitude")):
        with pytest.raises(ValueError, match="column names collide"):
            table_columns(attributes, HeadWeights(attributes, {output: head}))
