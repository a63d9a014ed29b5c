"""The guides' walkthroughs that need only the scratch folder: the paper's data and
training, your own photos (train, evaluate, explain, export), multi-label tags, and the
config and weights recipes (`blocks.py` says how blocks are found and run)."""

import pytest

from tests.docs.blocks import block, commands, run

pytestmark = pytest.mark.slow


def test_the_paper_data_blocks_run(scratch, env):
    """paper.md: the ScenicOrNot downloader (against a fake Geograph) and the paper's
    training on the SUN and ScenicOrNot fixtures."""
    from tests.siam_keras.data.download.test_geograph import FakeGeograph

    geograph = FakeGeograph()
    try:
        votes = scratch / "data" / "scenic_or_not"
        votes.mkdir(parents=True)
        (votes / "votes.tsv").write_text(
            "Lat\tLon\tAverage\tVariance\tVotes\tGeograph URI\n"
            f"51\t-1\t5\t1\t4,5,6\t{geograph.url}/photo/41\n")
        for command in commands(block("sh", "download-scenic-or-not")):
            run(command, scratch, env)
        assert (votes / "images" / "41.jpg").is_file()
    finally:
        geograph.httpd.shutdown()
        geograph.httpd.server_close()
    for command in commands(block("sh", "--config sun_son_resnet50")):
        run(command, scratch, env)
    assert (scratch / "runs" / "paper" / "metrics.json").is_file()


def test_the_own_photos_walkthrough_runs(scratch, env):
    """own-photos.md, verbatim at a small size: example photos, the config block saved
    where the guide says, then train, evaluate, explain and export."""
    import json

    for command in commands(block("sh", "siam example-photos")):
        run(command, scratch, env)
    (scratch / "my_photos" / "config.toml").write_text(block("toml", 'dataset = "manifest"'))
    for command in commands(block("sh", "siam-train --config my_photos")):
        run(command, scratch, env)
    folder = scratch / "runs" / "my_photos"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert {"accuracy", "macro_f1", "recall"} <= set(metrics["outputs"]["landscape"])
    assert metrics["dataset"]["num_skipped_rows"] == 0
    tested = json.loads((folder / "test.json").read_text())
    assert tested["dataset"]["split"] == "test" and "kendall_tau" in tested["outputs"]["scenicness"]
    summary = json.loads((folder / "explained" / "summary.json").read_text())
    assert summary["num_failed"] == 0 and summary["num_explained"] > 0
    points = json.loads((folder / "explained" / "locations.geojson").read_text())
    assert len(points["features"]) == summary["num_explained"]
    record = json.loads((folder / "explained" / summary["explained"][0]["json"]).read_text())
    assert record["location"]["source"] == "manifest"
    assert record["outputs"]["landscape"]["kind"] == "classification"
    assert (folder / "export" / "tflite" / "model_int8.tflite").is_file()


def test_the_multilabel_block_trains_tags(scratch, env):
    """own-photos.md's multi-label config trains, small: metrics.json scores every tag."""
    import json

    for command in commands(block("sh", "siam-train --config tags")):
        run(command, scratch, env)
    metrics = json.loads((scratch / "runs" / "tags" / "metrics.json").read_text())
    tags = metrics["outputs"]["tags"]
    assert {"mean_ap", "micro_f1", "macro_f1"} <= set(tags)
    assert set(tags["ap"]) == {"waterside", "wooded", "built_up", "rocky"}
    assert "contribution_r" in metrics["ground_truth"]["outputs"]["tags"]


def test_the_hand_tuned_block_is_a_valid_addition_to_the_minimal_config(tmp_path):
    from training.config import load_config

    (tmp_path / "config.toml").write_text(block("toml", 'dataset = "manifest"') + "\n"
                                          + block("toml", "attribute_epochs = 15"))
    (tmp_path / "photos.csv").write_text("image\n")
    config = load_config(tmp_path / "config.toml")
    assert (config.train.attribute_epochs, config.train.freeze_backbone) == (15, True)


def test_the_offline_weights_recipe_saves_a_file_a_config_can_name(tmp_path, monkeypatch):
    """Run as written, but with random weights instead of the download ("imagenet")."""
    import numpy as np

    monkeypatch.chdir(tmp_path)
    snippet = block("python", "save_weights(").replace('weights="imagenet"', "weights=None")
    exec(compile(snippet, "docs/own-photos.md", "exec"), {})
    saved = tmp_path / "resnet50_imagenet_notop.weights.h5"
    assert saved.is_file()
    from training.builders import siam_model_from_config
    from training.config import load_config

    config = load_config(None, ["model.backbone=resnet50", f"model.backbone_weights='{saved}'",
                                "data.image_size=64", "model.template_size=2",
                                "model.border_size=0"])
    model = siam_model_from_config(config, ["a"], ["score"])
    import keras

    reference = keras.applications.ResNet50(include_top=False, weights=None)
    reference.load_weights(saved)
    used = model.backbone.get_layer("resnet50")
    for a, b in zip(reference.weights[:5], used.weights[:5]):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
