import pytest

from siam_keras.cli import main


def test_missing_model_file_is_named(tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "none.keras"), "--out", str(tmp_path / "o.json")]) == 2
    assert "none.keras: no such model file or folder" in capsys.readouterr().err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0 and "evaluate" in capsys.readouterr().out


def test_too_few_images(tmp_path, capsys):
    assert main(["evaluate", "--model", "m.keras", "--out", str(tmp_path / "o.json"), "--num-images", "1"]) == 2
    assert "`--num-images` must be an integer >= 2" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_explanations_writes_the_report_and_figures(tiny_models, tmp_path, capsys):
    import json

    out, figures = tmp_path / "explanations.json", tmp_path / "figures"
    config = tmp_path / "config.toml"  # as siam-train writes it: the tiny models' data
    config.write_text("[data.synthetic_scenes]\nseed = 0\nnoise = 0.1\ntruth_template_size = 4\n")
    code = main(["evaluate", "--model", str(tiny_models[0]), "--baseline", str(tiny_models[1]),
                 "--explanations", "--out", str(out), "--figures", str(figures),
                 "--num-images", "8", "--config", str(config), "--deletion-steps", "2",
                 "--timing-repeats", "1", "--num-figures", "2", "--batch-size", "4"])
    assert code == 0
    report = json.loads(out.read_text())
    for key in ("pointing_game", "relevance_mass", "contribution_r", "zero_weight_share",
                "removal_max_error", "deletion_auc"):
        assert key in report["siam"], key
    for key in ("explain_over_predict", "gradcam_over_explain"):
        assert report["timing"][key] > 0
    assert report["dataset"]["num_images"] == 8
    for name in ("test_0000.png", "test_0001.json", "overview.png", "overview.json",
                 "deletion_curves.png"):
        assert (figures / name).is_file(), name
    overview = json.loads((figures / "overview.json").read_text())
    assert overview["over"][0]["error"] >= overview["under"][0]["error"]
    assert "pointing_game" in capsys.readouterr().out


def test_evaluate_explanations_refuses_a_baseline_model(tiny_models, tmp_path, capsys):
    code = main(["evaluate", "--model", str(tiny_models[1]), "--explanations", "--out",
                 str(tmp_path / "x.json"), "--num-images", "4", "--timing-repeats", "0"])
    assert code == 2
    assert "not a SIAMModel" in capsys.readouterr().err
