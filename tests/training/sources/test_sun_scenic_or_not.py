import csv
import json

import pytest

from tests.dataset_fixtures import write_son_fixture, write_sun_fixture
from training.cli import main

PAPER = "training/configs/sun_son_resnet50.toml"


def shrunk(tmp_path, *extra):
    """The paper's preset shrunk: small CNN at 32 px, a few steps, fixture datasets."""
    return ["--config", PAPER, "--set", f"data.sun_scenic_or_not.sun_manual_dir={tmp_path / 'sun'}",
            f"data.sun_scenic_or_not.son_manual_dir={tmp_path / 'son'}", f"data.sun_scenic_or_not.tfds_data_dir={tmp_path / 'tfds'}",
            "data.image_size=32", "model.backbone=small_cnn", 'model.backbone_weights=""',
            "model.template_size=4", "model.border_size=1", "train.epochs=6",
            "train.steps_per_epoch=10", "train.batch_size=8", "train.lr_decay_epochs=[5]",
            "train.learning_rate=1e-2", "train.mixed_precision=false", "baseline.epochs=1", *extra]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    root = tmp_path_factory.mktemp("two_datasets")
    write_sun_fixture(root / "sun")
    write_son_fixture(root / "son", with_id=False)
    return root


@pytest.mark.slow
def test_paper_preset_shrunk_trains_end_to_end_and_both_losses_fall(fixtures, tmp_path):
    out = tmp_path / "run"
    assert main(["--keep-unhealthy", "--out", str(out), *shrunk(fixtures, "train.attribute_epochs=1")]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for name in ("scenicness", "scenicness_variance"):
        for key in ("kendall_tau", "spearman", "rmse", "r2", "num_images"):
            assert key in metrics["outputs"][name] and key in metrics["baseline"]["outputs"][name]
    assert 0 <= metrics["attributes"]["mean_ap"] <= 1 and len(metrics["attributes"]["ap"]) == 33
    assert metrics["training"]["steps_per_epoch"] == 10
    with open(out / "history.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 6
    for loss in ("attribute_loss", "output_loss"):
        first, last = float(rows[0][loss]), float(rows[-1][loss])
        assert last < first, (loss, first, last)
    assert (out / "attribute_stage" / "model.keras").is_file()
    assert (out / "model.keras").is_file() and (out / "attribute_maps.png").is_file()


@pytest.mark.slow
def test_missing_manual_folder_is_named_with_the_files_expected(fixtures, tmp_path, capsys):
    # A fresh TFDS folder: a prepared dataset would not need its manual folder.
    code = main(["--keep-unhealthy", "--out", str(tmp_path / "run"), *shrunk(fixtures),
                 f"data.sun_scenic_or_not.sun_manual_dir={tmp_path / 'nowhere'}", f"data.sun_scenic_or_not.tfds_data_dir={tmp_path}"])
    assert code == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nowhere") in err and "attributes.mat" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_rerun_after_the_attribute_stage_continues_from_its_result(fixtures, tmp_path,
                                                                     monkeypatch):
    """Killed as the joint stage starts; the rerun finds the attribute stage finished and
    must start the joint stage from its weights, not from a fresh model."""
    import numpy as np

    from siam_keras.saving import load_model
    from training import run as run_module

    out = tmp_path / "run"
    real_fit_stage, started = run_module.fit_stage, []

    def fit_stage(model, stage, **kwargs):
        if stage.folder == out:  # the joint stage
            started.append([np.array(w) for w in model.get_weights()])
            if len(started) == 1:
                raise KeyboardInterrupt("killed as the joint stage starts")
        return real_fit_stage(model, stage, **kwargs)

    monkeypatch.setattr(run_module, "fit_stage", fit_stage)
    args = ["--keep-unhealthy", "--out", str(out), *shrunk(fixtures, "train.attribute_epochs=1",
                                                           "train.epochs=1",
                                       "baseline.enabled=false")]
    with pytest.raises(KeyboardInterrupt):
        main(args)
    assert main(args) == 0
    attribute_stage = load_model(out / "attribute_stage" / "model.keras").get_weights()
    for at_rerun, trained in zip(started[1], attribute_stage):
        np.testing.assert_array_equal(at_rerun, trained)
