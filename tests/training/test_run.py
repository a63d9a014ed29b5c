import csv
import json

import keras
import numpy as np
import pytest

from siam_keras.models import build_siam_model
from training import builders, datasets
from training.cli import main
from training.config import load_config
from training.fit import Stage, fit_stage
from training.losses import siam_losses

TINY = ["data.image_size=32", "data.synthetic_scenes.num_train=64", "data.synthetic_scenes.num_validation=16", "data.synthetic_scenes.num_test=32",
        "data.synthetic_scenes.truth_template_size=4", "model.template_size=4", "train.epochs=2",
        "train.batch_size=16", "train.lr_decay_epochs=[1]", "baseline.epochs=1",
        "train.min_steps_per_epoch=1"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny"
    assert main(["--keep-unhealthy", "--config", "training/configs/demo.toml", "--out", str(out), "--set", *TINY]) == 0
    return out


@pytest.mark.slow
def test_run_writes_every_file_and_metrics_key(tiny_run):
    for name in ("model.keras", "history.csv", "metrics.json", "config.toml", "attribute_maps.png",
                 "baseline/model.keras"):
        assert (tiny_run / name).is_file(), name
    assert not (tiny_run / "backup").exists() and not (tiny_run / "checkpoints").exists()
    assert any((tiny_run / "tensorboard" / "attribute_maps").iterdir())
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    for name in ("scenicness", "scenicness_variance"):
        assert set(metrics["outputs"][name]) >= {"kendall_tau", "spearman", "rmse", "r2"}
        assert set(metrics["baseline"]["outputs"][name]) >= {"kendall_tau", "spearman", "rmse", "r2"}
    assert 0 <= metrics["attributes"]["mean_ap"] <= 1
    assert set(metrics["attributes"]["ap"]) == {"sky", "clouds", "water", "trees", "grass", "road",
                                                "buildings", "rock"}
    assert -1 <= metrics["ground_truth"]["effect_rank_tau"] <= 1
    assert load_config(tiny_run / "config.toml").train.epochs == 2
    with open(tiny_run / "history.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1"]


@pytest.mark.slow
def test_saved_model_reloads_with_nothing_but_keras_and_siam_keras(tiny_run):
    from siam_keras.models import BaselineModel, SIAMModel
    from siam_keras.saving import load_model

    model = load_model(tiny_run / "model.keras")
    assert isinstance(model, SIAMModel) and model.attribute_names[0] == "sky"
    assert isinstance(load_model(tiny_run / "baseline" / "model.keras"), BaselineModel)
    out = model.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0)
    assert out["attribute_maps"].shape == (1, 8, 8, 8)
    assert getattr(model, "optimizer", None) is None  # saved without training state


@pytest.mark.slow
def test_finished_run_is_not_overwritten_by_default(tiny_run, capsys):
    code = main(["--keep-unhealthy", "--config", "training/configs/demo.toml", "--out", str(tiny_run), "--set", *TINY])
    assert code == 2
    assert "already holds a finished run" in capsys.readouterr().err


@pytest.mark.slow
def test_siam_evaluate_scores_the_held_out_split(tiny_run, tmp_path, capsys):
    from siam_keras.cli import main as siam_main

    out = tmp_path / "eval.json"
    code = siam_main(["evaluate", "--model", str(tiny_run / "model.keras"), "--out", str(out),
                      "--num-images", "32", "--config", str(tiny_run / "config.toml")])
    assert code == 0
    report = json.loads(out.read_text())
    training_metrics = json.loads((tiny_run / "metrics.json").read_text())
    # Same split, same model: the same numbers as the training job's evaluation.
    assert report["outputs"]["scenicness"]["kendall_tau"] == pytest.approx(
        training_metrics["outputs"]["scenicness"]["kendall_tau"], abs=1e-6)
    assert "effect_rank_tau" in capsys.readouterr().out
    baseline_out = tmp_path / "baseline.json"
    assert siam_main(["evaluate", "--model", str(tiny_run / "baseline/model.keras"), "--out",
                      str(baseline_out), "--num-images", "32"]) == 0
    assert "attributes" not in json.loads(baseline_out.read_text())


class _Kill(keras.callbacks.Callback):
    def __init__(self, at_epoch=0):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt("simulated kill")


def _tiny_stage(tmp_path):
    """A tiny stage on 32 synthetic images: `stage(epochs, callbacks)` fits a fresh model."""
    config = load_config(None, TINY + ["train.augmentation.flip=false"])
    scenes = datasets.synthetic_scenes(config.data)
    split = scenes.generate("train", 32)
    targets, weights = datasets.targets_and_weights(split, ["scenicness"], True)
    data = datasets.make_dataset(split["image"], targets, weights, 16, True, config.train)
    checks = datasets.make_dataset(split["image"], targets, weights, 16, False, config.train)

    def stage(epochs, callbacks=(), model=None):
        model = model or build_siam_model(scenes.attribute_names, ["scenicness"], image_size=32,
                                          template_size=4, border_size=0)
        validation = builders.validation(config, checks, ["scenicness"])
        return fit_stage(model, Stage(tmp_path, epochs, 2, config.train, callbacks=callbacks),
                         losses=siam_losses(["scenicness"]),
                         loss_weights={"scenicness": 1.0, "attribute_scores": 1.0},
                         train_data=data, validation=validation, log=lambda *a: None)

    return stage


@pytest.mark.slow
def test_killed_stage_resumes_at_the_last_finished_epoch(tmp_path):
    stage = _tiny_stage(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        stage(3, [_Kill(at_epoch=1)])  # killed in epoch 1, before it is committed
    assert (tmp_path / "checkpoints" / "state.json").exists()
    assert not (tmp_path / "model.keras").exists()
    stage(3)
    with open(tmp_path / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]  # epoch 1 once, though run twice
    assert {"val_loss", "val_scenicness_loss", "val_attribute_scores_loss",
            "val_scenicness_kendall_tau"} <= set(rows[0])
    assert (tmp_path / "model.keras").is_file() and not (tmp_path / "checkpoints").exists()


class _ScriptedValidation(keras.callbacks.Callback):
    """Replaces val_loss with a scripted value per epoch and keeps each epoch's weights."""

    def __init__(self, values, kept):
        super().__init__()
        self.values, self.kept = values, kept

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]
        self.kept[epoch] = [np.array(w) for w in self.model.get_weights()]


@pytest.mark.slow
def test_a_restart_remembers_the_best_validation_loss(tmp_path):
    """Epoch 0 is the best (1.0); the run is killed after epoch 1 (5.0); epoch 2 after the
    restart (3.0) is worse than the best: the model returned is epoch 0's."""
    values, kept = {0: 1.0, 1: 5.0, 2: 3.0}, {}
    stage = _tiny_stage(tmp_path)
    scripted = _ScriptedValidation(values, kept)
    with pytest.raises(KeyboardInterrupt):
        stage(3, [scripted, _Kill(at_epoch=2)])  # epoch 2 runs, is killed before its commit
    best = stage(3, [_ScriptedValidation(values, kept)])
    for returned, expected in zip(best.get_weights(), kept[0]):
        np.testing.assert_array_equal(returned, expected)
    assert not all(np.array_equal(a, b) for a, b in zip(kept[0], kept[2]))


@pytest.mark.slow
def test_a_kill_while_the_model_is_written_leaves_a_run_that_restarts(tmp_path, monkeypatch):
    """The process dies while model.keras is being written: no model.keras appears, and
    the restart finishes the stage from its committed state."""
    stage = _tiny_stage(tmp_path)
    original = keras.Model.save

    def dying_save(self, filepath, *args, **kwargs):
        original(self, filepath, *args, **kwargs)
        with open(filepath, "r+b") as file:  # half of it reached the disk, then the kill
            file.truncate(file.seek(0, 2) // 2)
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(keras.Model, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        stage(2)
    assert not (tmp_path / "model.keras").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
    monkeypatch.setattr(keras.Model, "save", original)
    stage(2)
    from siam_keras.saving import load_model

    assert load_model(tmp_path / "model.keras").output["scenicness"].shape == (None,)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "train.epochs=x"], "train.epochs must be of type int"),
        (["--set", "model.backbone=vgg16"], "Unknown backbone 'vgg16'"),
        (["--set", "model.backbone_weights=/no/such/weights.h5"], "Backbone weights file not found"),
        (["--config", "/no/such.toml"], "Config file not found"),
    ],
)
def test_cli_bad_input_gets_one_clear_message(tmp_path, capsys, args, message):
    code = main(["--keep-unhealthy", "--out", str(tmp_path / "x"), *args, "--set", "data.synthetic_scenes.num_train=32",
                 "data.synthetic_scenes.num_validation=8", "data.synthetic_scenes.num_test=8", "data.image_size=32"]
                if "--set" not in args else ["--out", str(tmp_path / "x"), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_damaged_checkpoint_state_is_named_not_a_traceback(tmp_path, capsys):
    from training.run_folder import prepare_run_folder

    out = tmp_path / "run"
    config = load_config("training/configs/demo.toml", TINY)
    prepare_run_folder(out, config, log=lambda *a: None)
    (out / "checkpoints").mkdir()
    (out / "checkpoints" / "state.json").write_text('{"epoch": 1')  # cut short
    assert main(["--keep-unhealthy", "--config", "training/configs/demo.toml", "--out", str(out), "--set", *TINY]) == 2
    err = capsys.readouterr().err
    assert "state.json cannot be resumed from" in err and "--overwrite" in err
    assert "Traceback" not in err
