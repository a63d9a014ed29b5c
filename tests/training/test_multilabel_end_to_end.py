"""A multi-label manifest, end to end: siam-train reads its `;`-separated tags, trains and
scores them; siam explain, siam-export (SavedModel, TFLite, the web page), siam-edge and
siam score all explain every tag, and agree with the Keras model."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from siam_keras.data.scene_rendering import CONCEPTS
from siam_keras.data.synthetic_scenes import TAG_NAMES, SyntheticScenes
from training.cli import main

pytestmark = pytest.mark.slow

TAGS = tuple(sorted(TAG_NAMES))  # training sorts the tags it sees


@pytest.fixture(scope="module")
def tag_run(tmp_path_factory):
    """(folder, run folder, the test photos): 320 generated scenes written as PNG files
    with a manifest whose `tags` column lists each photo's tags (";" alone: none), and a
    short siam-train run on it."""
    folder = tmp_path_factory.mktemp("tags")
    scenes = SyntheticScenes(image_size=32, template_size=4, outputs=("tags",))
    batch = scenes.generate("train", 320)
    rows = []
    for i, image in enumerate(batch["image"]):
        Image.fromarray(image).save(folder / f"scene_{i:03d}.png")
        present = [tag for tag, on in zip(TAG_NAMES, batch["tags"][i]) if on]
        rows.append({"image": f"scene_{i:03d}.png", "tags": ";".join(present) or ";",
                     **dict(zip(CONCEPTS, map(float, batch["attributes"][i])))})
    rows[5]["tags"] = ""  # a missing label: left out of the tags' loss, kept for attributes
    with open(folder / "photos.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (folder / "config.toml").write_text(f"""
[train]
epochs = 3
min_steps_per_epoch = 40
batch_size = 16
lr_decay_epochs = []
[baseline]
enabled = false
[model]
template_size = 4
border_size = 0
[data]
dataset = "manifest"
image_size = 32
[data.manifest]
files = ["{folder / 'photos.csv'}"]
attribute_columns = {json.dumps(list(CONCEPTS))}
outputs = {{ tags = "multilabel" }}
""")
    run = folder / "run"
    assert main(["--config", str(folder / "config.toml"), "--out", str(run),
                 "--keep-unhealthy"]) == 0
    test = [folder / row["image"] for row in rows[:40]]
    return folder, run, test


def test_training_reads_the_tags_and_scores_each_one(tag_run):
    from siam_keras.runtime.output_kinds import MultiLabel
    from siam_keras.saving import load_model

    _, run, _ = tag_run
    metrics = json.loads((run / "metrics.json").read_text())
    tags = metrics["outputs"]["tags"]
    assert set(tags["ap"]) == set(TAGS) and 0.0 <= tags["mean_ap"] <= 1.0
    assert {"micro_f1", "macro_f1", "positives"} <= set(tags)
    model = load_model(run / "model.keras")
    assert model.output_kinds["tags"] == MultiLabel(TAGS)
    assert model.siam_head.biases["tags"].shape == (len(TAGS),)


def test_explain_export_edge_score_and_the_page_agree_on_every_tag(tag_run, tmp_path):
    from export.cli import main as export
    from siam_keras.cli import main as siam
    from siam_keras.edge import EdgeExplainer
    from siam_keras.edge.cli import main as edge
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.saving import load_model

    folder, run, photos = tag_run
    keras_explainer = SIAMExplainer(load_model(run / "model.keras"))
    pixels = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in photos[:4]])
    reference = keras_explainer(pixels.astype("float32")).output("tags")

    # siam explain: the JSON entry and the table name the tags present and every logit.
    assert siam(["explain", *map(str, photos[:4]), "--model", str(run / "model.keras"),
                 "--out", str(tmp_path / "explained"), "--table", str(tmp_path / "t.csv"),
                 "--output", "tags"]) == 0
    record = json.loads((tmp_path / "explained" / f"{photos[0].stem}.json").read_text())
    entry = record["outputs"]["tags"]
    p = 1 / (1 + np.exp(-reference.value[0].astype("float64")))
    assert entry["kind"] == "multilabel" and entry["tags"] == list(TAGS)
    assert entry["value"] == [TAGS[t] for t in np.argsort(-p) if p[t] >= 0.5]
    assert (tmp_path / "explained" / f"{photos[0].stem}.png").exists()
    with open(tmp_path / "t.csv") as file:
        table = list(csv.DictReader(file))
    assert table[0]["tags"] == ";".join(entry["value"])
    assert float(table[0][f"tags.{TAGS[0]}"]) == pytest.approx(reference.value[0, 0], abs=1e-4)

    # siam-export: a format-3 sidecar; every variant's tags add up within its tolerance.
    out = tmp_path / "export"
    assert export(["--model", str(run / "model.keras"), "--out", str(out), "--tflite",
                   "float32,int8", "--calibration", str(folder), "--calibration-images", "16",
                   "--holdout", str(folder), "--holdout-images", "8", "--latency-runs", "2",
                   "--web"]) == 0
    sidecar = json.loads((out / "tflite" / "siam_model.json").read_text())
    assert sidecar["format"] == "siam-keras-model/3"
    assert sidecar["head"]["tags"]["tags"] == list(TAGS)
    edge_explainer = EdgeExplainer(out / "tflite" / "model_float32.tflite")
    np.testing.assert_allclose(edge_explainer(pixels).output("tags").value, reference.value,
                               atol=1e-4)

    # siam-edge explain and siam score (the SavedModel) write the same tags.
    assert edge(["explain", "--model", str(out / "tflite" / "model_float32.tflite"),
                 *map(str, photos[:4]), "--out", str(tmp_path / "edge"), "--output",
                 "tags"]) == 0
    edge_entry = json.loads((tmp_path / "edge" / f"{photos[0].stem}.json").read_text())
    assert edge_entry["outputs"]["tags"]["value"] == entry["value"]
    with open(tmp_path / "photos.csv", "w") as file:
        file.write("image\n" + "".join(f"{p}\n" for p in photos[:4]))
    assert siam(["score", "--model", str(out / "saved_model" / "1"), "--input",
                 str(tmp_path / "photos.csv"), "--output", str(tmp_path / "scores.csv")]) == 0
    with open(tmp_path / "scores.csv") as file:
        scored = list(csv.DictReader(file))
    first = next(row for row in scored if row["image"].endswith(photos[0].name))
    assert first["tags"] == ";".join(entry["value"])

    # The page: the headline lists the tags present; the bars add up to the shown tag's logit.
    from siam_keras.edge import test_vectors as vectors
    from tests.web_browser import browser, explain_file, open_page, served

    web = out / "web"
    page_json = json.loads((web / "page.json").read_text())
    explainer = EdgeExplainer(out / "tflite" / page_json["model"])
    image = web / "test_vectors" / "image_00.png"
    expected = explainer.predict(vectors.read_pixels(image)[None])["tags"][0]
    with served(web) as url, browser() as chromium:
        page = open_page(chromium, url + "index.html")
        explain_file(page, image)
        headline = page.locator("#prediction .headline")
        present = json.loads(headline.get_attribute("data-present"))
        bars = page.evaluate("""() => Array.from(document.querySelectorAll('#bars .bar-row'))
            .map((row) => Number(row.dataset.value))""")
        title = page.locator("#bars-title").text_content()
        assert page.errors == []
    q = 1 / (1 + np.exp(-expected.astype("float64")))
    assert present == [TAGS[t] for t in np.argsort(-q) if q[t] >= 0.5]
    bias, *_, total = bars
    best = int(np.argmax(expected))
    assert vectors.relative_error(total, expected[best]) <= vectors.TOLERANCE[page_json["variant"]]
    assert TAGS[best] in title
