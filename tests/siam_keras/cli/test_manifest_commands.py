"""`siam evaluate --config` and `siam explain --config` on a manifest run's photos."""

import json

import pytest

from siam_keras.cli import main
from siam_keras.data.example_photos import write_example_photos

pytestmark = pytest.mark.slow

ATTRIBUTES = ["sky", "clouds", "water", "trees", "grass", "road", "buildings", "rock"]
CLASSES = ["coast", "forest", "highlands", "town"]  # sorted, as training fixes them


@pytest.fixture(scope="module")
def manifest_run(tmp_path_factory):
    """(folder, model path, config path): 30 example photos, an untrained SIAM model of the
    manifest's attributes and outputs, and a manifest run's config."""
    from siam_keras.models import build_siam_model

    folder = tmp_path_factory.mktemp("manifest_run")
    write_example_photos(folder, num_images=30, image_size=32)
    model = build_siam_model(ATTRIBUTES, ["scenicness", "landscape"], image_size=32,
                             template_size=4, border_size=0, output_classes={"landscape": CLASSES})
    model.save(folder / "model.keras")
    (folder / "config.toml").write_text(f"""
[data]
dataset = "manifest"
image_size = 32
[data.manifest]
files = ["{folder / 'photos.csv'}"]
attribute_columns = {json.dumps(ATTRIBUTES)}
latitude_column = "latitude"
longitude_column = "longitude"
[data.manifest.outputs]
scenicness = "regression"
landscape = "classification"
""")
    return folder, folder / "model.keras", folder / "config.toml"


def test_evaluate_scores_any_split_of_the_manifest_with_each_outputs_metrics(manifest_run):
    folder, model, config = manifest_run
    for split in ("train", "test"):
        out = folder / f"{split}.json"
        assert main(["evaluate", "--model", str(model), "--config", str(config), "--split", split,
                     "--out", str(out)]) == 0
        report = json.loads(out.read_text())
        assert report["dataset"]["name"] == "manifest" and report["dataset"]["split"] == split
        assert {"accuracy", "macro_f1", "recall"} <= set(report["outputs"]["landscape"])
        assert set(report["outputs"]["landscape"]["recall"]) == set(CLASSES)
        assert "kendall_tau" in report["outputs"]["scenicness"] and "attributes" in report
    assert report["dataset"]["num_images"] < json.loads(
        (folder / "train.json").read_text())["dataset"]["num_images"]


def test_explain_carries_the_manifest_locations_into_the_json_and_a_geojson(manifest_run,
                                                                           tmp_path):
    folder, model, config = manifest_run
    out = tmp_path / "explained"
    assert main(["explain", "--model", str(model), "--config", str(config), "--split", "test",
                 "--out", str(out), "--top-k", "3"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    points = json.loads((out / "locations.geojson").read_text())
    assert len(points["features"]) == summary["num_explained"] > 0
    rows = {line.split(",")[0]: line.split(",") for line in
            (folder / "photos.csv").read_text().splitlines()[1:]}
    record = json.loads((out / summary["explained"][0]["json"]).read_text())
    photo = "photos/" + record["image"].split("photos/")[-1]
    assert record["location"] == {"latitude": float(rows[photo][-2]),
                                  "longitude": float(rows[photo][-1]), "source": "manifest"}
    assert record["outputs"]["landscape"]["value"] in CLASSES


def test_explain_refuses_images_and_config_together_and_a_config_of_another_dataset(
        manifest_run, tmp_path, capsys):
    folder, model, config = manifest_run
    assert main(["explain", "--model", str(model), "--config", str(config), str(folder / "photos"),
                 "--out", str(tmp_path / "x")]) == 2
    assert "not both" in capsys.readouterr().err
    (tmp_path / "demo.toml").write_text('[data]\ndataset = "synthetic_scenes"\n')
    assert main(["explain", "--model", str(model), "--config", str(tmp_path / "demo.toml"),
                 "--out", str(tmp_path / "y")]) == 2
    assert "not the config of a manifest run" in capsys.readouterr().err
