"""The `manifest` data source: your own photos, with broken rows, in one file or two."""

import csv
import json

import numpy as np
import pytest
import tensorflow as tf

from siam_keras.data.example_photos import write_example_photos
from training.config import ConfigError, load_config

pytestmark = pytest.mark.slow

ATTRIBUTES = ["sky", "clouds", "water", "trees", "grass", "road", "buildings", "rock"]
TINY = ["data.image_size=32", "model.template_size=4", "train.epochs=1", "train.steps_per_epoch=2",
        "train.batch_size=4", "train.lr_decay_epochs=[]", "baseline.epochs=1"]


def _config(folder, files, extra=(), split_column="split"):
    text = f"""
[data]
dataset = "manifest"
[data.manifest]
files = {json.dumps(files)}
attribute_columns = {json.dumps(ATTRIBUTES)}
split_column = "{split_column}"
[data.manifest.outputs]
scenicness = "regression"
landscape = "classification"
"""
    (folder / "config.toml").write_text(text)
    return load_config(folder / "config.toml", [*TINY, *extra])


def _rows(path):
    with open(path, newline="") as file:
        return list(csv.reader(file))


def _write(path, rows):
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows(rows)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """40 example photos (32 px) and their manifest rows, with a split column: 24 train,
    8 validation, 8 test."""
    folder = tmp_path_factory.mktemp("manifest")
    write_example_photos(folder, num_images=40, image_size=32)
    header, *rows = _rows(folder / "photos.csv")
    splits = ["train"] * 24 + ["validation"] * 8 + ["test"] * 8
    return folder, [header + ["split"]] + [row + [s] for row, s in zip(rows, splits)]


def test_broken_rows_are_named_by_file_and_line_and_the_run_finishes(photos, tmp_path, capsys):
    from training.run import run

    folder, (header, *rows) = photos
    (tmp_path / "photos").symlink_to(folder / "photos")
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    broken = [row[:] for row in rows[34:]]  # test rows
    broken[0][0] = "photos/no_such_photo.jpg"                 # line 36: a missing image
    broken[1][0] = "corrupt.jpg"                              # line 37: a corrupt one
    broken[2][1] = "lots"                                     # line 38: not a number
    broken[3][2] = "1.5"                                      # line 39: outside [0, 1]
    broken[4][10] = "swamp"                                   # line 40: a class training lacks
    broken[5] = broken[5][:5]                                 # line 41: a missing column
    _write(tmp_path / "photos.csv", [header, *rows[:34], *broken])
    metrics = run(_config(tmp_path, ["photos.csv"], ["baseline.enabled=false"]), tmp_path / "run",
                  keep_unhealthy=True)
    dataset = metrics["dataset"]
    assert dataset["num_skipped_rows"] == 6
    where = [problem.split(": ")[0] for problem in dataset["skipped_rows"]]
    assert where == [f"{tmp_path / 'photos.csv'}:{line}" for line in range(36, 42)]
    reasons = " | ".join(dataset["skipped_rows"])
    for words in ("no_such_photo.jpg", "corrupt.jpg", "'lots'", "1.5", "'swamp'", "fields"):
        assert words in reasons
    assert dataset["rows"] == {"train": 24, "validation": 8, "test": 2}
    assert set(metrics["outputs"]["landscape"]) >= {"accuracy", "macro_f1", "recall"}
    assert "kendall_tau" in metrics["outputs"]["scenicness"]
    printed = capsys.readouterr().out
    assert "6 rows left out" in printed
    # The console's counts are metrics.json's: after the unreadable photos too.
    assert "34 usable rows: 24 train, 8 validation, 2 test" in printed
    assert printed.count("usable rows") == 1
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["dataset"]["num_skipped_rows"] == 6


def test_a_run_that_learned_nothing_says_so_and_exits_3(photos, tmp_path, capsys):
    """Two steps of training: the kept model predicts about a constant. Everything is
    written, metrics.json says why, history.csv has the health columns, the exit is 3."""
    from training.cli import main

    folder, (header, *rows) = photos
    (tmp_path / "photos").symlink_to(folder / "photos")
    _write(tmp_path / "photos.csv", [header, *rows])
    _config(tmp_path, ["photos.csv"])  # writes config.toml
    args = ["--config", str(tmp_path / "config.toml"), "--out", str(tmp_path / "run"), "--set",
            *TINY, "baseline.enabled=false"]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "failed its health checks" in err and "constant output(s)" in err
    assert "--keep-unhealthy" in err and "train.epochs" in err
    health = json.loads((tmp_path / "run" / "metrics.json").read_text())["health"]["siam"]
    assert health["ok"] is False and health["constant_outputs"]
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()[0].split(",")
    assert {"health_constant_outputs", "health_dead_attributes", "health_mode_gap",
            "health_nonfinite"} <= set(history)
    assert main([*args, "--overwrite", "--keep-unhealthy"]) == 0


def test_a_missing_required_column_is_one_error_before_any_training(photos, tmp_path):
    from siam_keras.data.manifest.reading import ManifestError
    from training.run import run

    _, (header, *rows) = photos
    _write(tmp_path / "photos.csv", [["picture", *header[1:]], *rows])
    with pytest.raises(ManifestError, match=r"photos.csv.*'image'"):
        run(_config(tmp_path, ["photos.csv"]), tmp_path / "run")
    assert not (tmp_path / "run" / "model.keras").exists()


def test_a_config_without_outputs_or_files_is_refused(tmp_path):
    (tmp_path / "config.toml").write_text('[data]\ndataset = "manifest"\n')
    with pytest.raises(ConfigError, match=r"data.manifest.files must list"):
        load_config(tmp_path / "config.toml")


def test_two_manifests_train_together_and_each_adds_nothing_to_the_others_loss(photos, tmp_path):
    """Attributes in one file, outputs in the other (the paper's setup): every training batch
    holds `batch_size` rows of each, and each target's loss and gradient on the mixed batch
    are those of its own file's rows alone (inference mode, as for SUN + ScenicOrNot)."""
    from training.builders import loss_setup, siam_model_from_config
    from training.sources import data_source

    folder, (header, *rows) = photos
    image, split = header.index("image"), header.index("split")
    attributes = [header.index(name) for name in ATTRIBUTES]
    outputs = [header.index("scenicness"), header.index("landscape")]
    for name, columns in (("attributes.csv", attributes), ("outputs.csv", outputs)):
        _write(tmp_path / name, [[header[c] for c in (image, *columns, split)]] +
               [[row[c] for c in (image, *columns, split)] for row in rows])
    (tmp_path / "photos").symlink_to(folder / "photos")
    config = _config(tmp_path, ["attributes.csv", "outputs.csv"], ["train.augmentation.flip=false",
                     "train.augmentation.crop_min_scale=1.0",
                     "train.augmentation.rotation_degrees=0.0"])
    source = data_source(config, log=lambda *_: None)
    source.prepare()
    images, targets, weights = next(iter(source.training_data().dataset()))
    np.testing.assert_array_equal(weights["attribute_scores"], [1] * 4 + [0] * 4)
    np.testing.assert_array_equal(weights["scenicness"], [0] * 4 + [1] * 4)
    np.testing.assert_array_equal(weights["landscape"], [0] * 4 + [1] * 4)
    model = siam_model_from_config(config, source.attribute_names, source.output_kinds,
                                   source.label_means())
    losses, _ = loss_setup(config, source.output_kinds)

    def loss_and_gradients(key, rows):
        with tf.GradientTape() as tape:
            predictions = model(images[rows], training=False)
            loss = losses[key](targets[key][rows], predictions[key], weights[key][rows])
        return float(loss), tape.gradient(loss, model.trainable_weights)

    for key, own in (("scenicness", slice(4, 8)), ("landscape", slice(4, 8)),
                     ("attribute_scores", slice(0, 4))):
        mixed_loss, mixed_gradients = loss_and_gradients(key, slice(0, 8))
        own_loss, own_gradients = loss_and_gradients(key, own)
        assert mixed_loss == pytest.approx(own_loss, rel=1e-5) and own_loss > 0
        for mixed, alone in zip(mixed_gradients, own_gradients):
            if alone is not None:
                np.testing.assert_allclose(np.asarray(mixed), np.asarray(alone), atol=1e-6)
