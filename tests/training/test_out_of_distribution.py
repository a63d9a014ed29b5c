"""A model trained as the demo is flags real photos as unlike its training photos, and lets
held-out generated scenes pass (the demo model explained a cat as "buildings -1.14" with
nothing to say it had never seen one)."""

import json

import numpy as np
import pytest

from training.cli import main

pytestmark = pytest.mark.slow

#: The demo's config (64 px, small_cnn), trained for 200 steps instead of 1500.
SHORT_DEMO = ["data.synthetic_scenes.num_train=1500", "data.synthetic_scenes.num_validation=300",
              "data.synthetic_scenes.num_test=200", "train.epochs=2",
              "train.min_steps_per_epoch=100", "train.lr_decay_epochs=[]",
              "baseline.enabled=false"]


def test_real_photos_are_flagged_and_held_out_scenes_pass(tmp_path, capsys):
    from benchmarks.out_of_distribution import held_out_scenes, real_photo_pixels
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.saving import load_model

    run = tmp_path / "demo"
    assert main(["--config", "training/configs/demo.toml", "--out", str(run),
                 "--set", *SHORT_DEMO]) == 0
    printed = capsys.readouterr().out
    assert "is flagged as out of distribution" in printed
    metrics = json.loads((run / "metrics.json").read_text())
    kept = metrics["training_distribution"]
    # one pass over the 1500 training photos (whole batches of 32)
    assert kept["kept"] and 1440 <= kept["num_photos"] <= 1500 and kept["test_flagged"] <= 0.05
    model = load_model(run / "model.keras")
    explainer = SIAMExplainer(model)
    photos, unreadable = real_photo_pixels(64)
    assert len(photos) >= 10 and not unreadable
    real = explainer(np.stack(list(photos.values())).astype("float32")).out_of_distribution
    assert real.flagged.sum() >= len(photos) - 2, dict(zip(photos, real.distance.round(1)))
    scenes = held_out_scenes(run, 64, 1000)
    assert explainer(scenes.astype("float32")).out_of_distribution.flagged.mean() <= 0.05

    # siam explain says which photos the model never learned anything like.
    from siam_keras.cli import main as siam
    from tests.real_photos import real_photos

    capsys.readouterr()
    assert siam(["explain", *map(str, real_photos()), "--model", str(run / "model.keras"),
                 "--out", str(tmp_path / "explained"), "--figures", "none"]) == 0
    summary = json.loads((tmp_path / "explained" / "summary.json").read_text())
    unlike = [entry["image"] for entry in summary["explained"]
              if entry["out_of_distribution"]["flagged"]]
    assert len(unlike) == int(real.flagged.sum())
    assert f"{len(unlike)} unlike the model's training photos" in capsys.readouterr().out
