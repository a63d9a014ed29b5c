import json

import numpy as np
import pytest
from PIL import Image

from siam_keras.app.image_files import checked_arguments, explain_files
from siam_keras.explanations import SIAMExplainer
from siam_keras.runtime.explanation import ExplanationError
from siam_keras.runtime.output_folder import (
    OutputFolderError,
    display_path,
    output_names,
    prepare_output_folder,
)
from tests.image_cases import BIG_BEN, SYDNEY, write_gps_photo


class _FailsOnWhite:
    """A real explainer whose check fails on any batch holding an all-white image."""

    def __init__(self, model):
        self.inner = SIAMExplainer(model)
        self.image_size = self.inner.image_size

    def __call__(self, pixels, top_k=8):
        if any((image == 255).all() for image in pixels):
            raise ExplanationError("Output 'scenicness': ... is off by 0.45")
        return self.inner(pixels, top_k=top_k)


def test_an_explanation_that_does_not_add_up_fails_that_image_alone(tiny_siam, tiny_scenes,
                                                                   tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(tiny_scenes["image"][0]).save(photos / "a.png")
    Image.fromarray(np.full((40, 30, 3), 255, np.uint8)).save(photos / "b_white.png")
    Image.fromarray(tiny_scenes["image"][1]).save(photos / "c.png")
    out = tmp_path / "out"
    files = checked_arguments([photos], out, top_k=3)
    summary = explain_files(files, _FailsOnWhite(tiny_siam), out, "model.keras", top_k=3,
                            batch_size=8)
    assert summary["num_explained"] == 2 and summary["num_failed"] == 1
    assert "b_white.png: its explanation does not add up" in summary["failed"][0]["error"]
    assert (out / "a.json").is_file() and (out / "c.json").is_file()
    assert not (out / "b_white.json").exists()
    assert json.loads((out / "summary.json").read_text())["num_failed"] == 1


def test_output_names_avoid_each_other_summary_and_foreign_files_case_insensitively(tmp_path):
    (tmp_path / "Photo.PNG").write_text("a user's file")
    files = [tmp_path / "in" / "photo.jpg", tmp_path / "in2" / "photo.png",
             tmp_path / "in" / "SUMMARY.jpg"]
    assert output_names(files, tmp_path) == ["photo-2", "photo-3", "SUMMARY-2"]


def test_a_summary_json_no_explain_run_wrote_is_left_alone(tmp_path):
    (tmp_path / "summary.json").write_text('{"mine": true}')
    with pytest.raises(OutputFolderError, match="no explain command wrote"):
        prepare_output_folder(tmp_path, [])
    assert (tmp_path / "summary.json").read_text() == '{"mine": true}'


def test_display_path_is_always_valid_utf8():
    import os

    shown = display_path(os.fsdecode(b"/photos/caf\xe9.jpg"))
    assert shown == "/photos/caf\\xe9.jpg"
    shown.encode("utf-8")


def test_a_killed_run_is_resumed_under_the_same_names(tiny_siam, tiny_scenes, tmp_path):
    """Killed after two images: its outputs are already listed in summary.json, so the
    rerun replaces them instead of writing a-2.json beside them."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, name in enumerate(["a.png", "b.png", "c.png"]):
        Image.fromarray(tiny_scenes["image"][i]).save(photos / name)
    out = tmp_path / "out"
    drawn = []

    def draw(path, *args):
        if len(drawn) == 2:
            raise KeyboardInterrupt("killed")
        drawn.append(path)
        Image.new("RGB", (4, 4)).save(path)

    files = checked_arguments([photos], out, top_k=3)
    with pytest.raises(KeyboardInterrupt):
        explain_files(files, SIAMExplainer(tiny_siam), out, "m.keras", draw=draw, batch_size=1)
    assert not (out / "summary.json").exists()
    logged = (out / "summary.progress.jsonl").read_text().splitlines()
    # Each image is listed before its figure and JSON are written (the third one too,
    # killed while its figure was drawn), and once more when written.
    assert [json.loads(line)["json"] for line in logged] == ["a.json", "a.json", "b.json",
                                                             "b.json", "c.json"]
    drawn.clear()
    summary = explain_files(checked_arguments([photos], out, top_k=3), SIAMExplainer(tiny_siam),
                            out, "m.keras", batch_size=1)
    assert [e["json"] for e in summary["explained"]] == ["a.json", "b.json", "c.json"]
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "a.png", "b.json", "b.png",
                                                     "c.json", "summary.json"]


def _figure(path, *args):
    Image.new("RGB", (4, 4)).save(path)


def test_locations_from_exif_and_a_manifest_go_into_records_and_a_geojson_map(
        tiny_siam, tiny_scenes, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    images = tiny_scenes["image"]
    write_gps_photo(photos / "a_ben.jpg", BIG_BEN, images[0])
    write_gps_photo(photos / "b_sydney.jpg", SYDNEY, images[1])  # the manifest says Paris
    Image.fromarray(images[2]).save(photos / "c_plain.tif")  # nowhere
    Image.fromarray(images[3]).save(photos / "d_manifest.png")
    manifest = {str(photos / "b_sydney.jpg"): (48.8584, 2.2945),
                photos / "d_manifest.png": ("-12.5", "130.25"),
                str(photos / "not_explained.jpg"): (1.0, 1.0)}
    files = checked_arguments([photos], out, top_k=3)
    summary = explain_files(files, SIAMExplainer(tiny_siam), out, "m.keras", top_k=3,
                            locations=manifest)
    records = {name: json.loads((out / f"{name}.json").read_text())
               for name in ("a_ben", "b_sydney", "c_plain", "d_manifest")}
    ben = records["a_ben"]["location"]
    assert ben["source"] == "exif" and ben["latitude"] == pytest.approx(51.5007222, abs=1e-6)
    assert ben["longitude"] == pytest.approx(-0.1246111, abs=1e-6)
    assert records["b_sydney"]["location"] == {"latitude": 48.8584, "longitude": 2.2945,
                                               "source": "manifest"}
    assert "location" not in records["c_plain"]
    assert records["d_manifest"]["location"]["longitude"] == 130.25
    assert summary["locations"] == "locations.geojson"
    assert json.loads((out / "summary.json").read_text())["locations"] == "locations.geojson"
    collection = json.loads((out / "locations.geojson").read_text())
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["properties"]["json"] for f in features] == ["a_ben.json", "b_sydney.json",
                                                           "d_manifest.json"]
    assert features[1]["geometry"] == {"type": "Point", "coordinates": [2.2945, 48.8584]}
    for feature in features:
        record = records[feature["properties"]["json"][:-5]]
        assert feature["geometry"]["coordinates"] == [record["location"]["longitude"],
                                                      record["location"]["latitude"]]
        assert feature["properties"] == {
            "image": record["image"], "json": feature["properties"]["json"],
            "scenicness": record["outputs"]["scenicness"]["value"],
            "top_attribute": record["outputs"]["scenicness"]["top_k"][0]["attribute"]}


def test_an_image_called_locations_and_a_users_map_keep_their_names_across_reruns(
        tiny_siam, tiny_scenes, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    out.mkdir()
    (out / "Locations.GeoJSON").write_text("a user's map")  # taken, whatever the case
    write_gps_photo(photos / "locations.jpg", BIG_BEN, tiny_scenes["image"][0])
    Image.fromarray(tiny_scenes["image"][1]).save(photos / "plain.png")

    def run(locations=None, paths=(photos,)):
        files = checked_arguments(list(paths), out, top_k=3)
        return explain_files(files, SIAMExplainer(tiny_siam), out, "m.keras", draw=_figure,
                             top_k=3, locations=locations)

    for _ in range(2):  # the rerun replaces its own files, under the same names
        summary = run({photos / "plain.png": (10.0, 20.0)})
        assert summary["locations"] == "locations-2.geojson"
        assert [e["json"] for e in summary["explained"]] == ["locations.json", "plain.json"]
        assert sorted(p.name for p in out.iterdir()) == [
            "Locations.GeoJSON", "locations-2.geojson", "locations.json", "locations.png",
            "plain.json", "plain.png", "summary.json"]
        assert len(json.loads((out / "locations-2.geojson").read_text())["features"]) == 2
    # A run where no photo has a location leaves no stale map of the earlier run.
    summary = run(paths=[photos / "plain.png"])
    assert summary["locations"] is None and not (out / "locations-2.geojson").exists()
    assert (out / "Locations.GeoJSON").read_text() == "a user's map"


def test_the_map_of_a_killed_run_is_its_own_and_a_users_is_not(tmp_path):
    from siam_keras.runtime.output_folder import locations_name, log_output

    assert locations_name(tmp_path) == "locations.geojson"
    (tmp_path / "locations.geojson").write_text("{}")
    assert locations_name(tmp_path) == "locations-2.geojson"  # no explain run wrote it
    log_output(tmp_path, {"locations": "locations.geojson"})  # killed after writing it
    assert locations_name(tmp_path) == "locations.geojson"


def test_a_bad_manifest_location_is_refused_by_name_before_anything_is_written(
        tiny_siam, tiny_scenes, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    Image.fromarray(tiny_scenes["image"][0]).save(photos / "a.png")
    files = checked_arguments([photos], out, top_k=3)
    with pytest.raises(ValueError, match=r"a.png: its location is invalid. `latitude` must be "
                                         r"a number of degrees from -90 to 90. "
                                         r"Received: latitude=95"):
        explain_files(files, SIAMExplainer(tiny_siam), out, "m.keras",
                      locations={photos / "a.png": (95, 0)})
    with pytest.raises(TypeError, match=r"a.png: .*Expected a \(latitude, longitude\) pair"):
        explain_files(files, SIAMExplainer(tiny_siam), out, "m.keras",
                      locations={photos / "a.png": "95,0"})
    assert list(out.iterdir()) == []
