import pytest
import tomllib

from training.config import Config, ConfigError, config_from_dict, config_to_toml, load_config


def test_defaults_and_round_trip():
    config = load_config(None, ["train.epochs=3", "train.lr_decay_epochs=[1, 2]", "model.backbone=resnet50",
                                "data.image_size=256"])
    assert config.train.epochs == 3 and config.train.lr_decay_epochs == (1, 2)
    assert config.model.backbone == "resnet50"
    assert config_from_dict(tomllib.loads(config_to_toml(config))) == config


def test_demo_config_loads():
    config = load_config("training/configs/demo.toml")
    assert isinstance(config, Config) and config.data.dataset == "synthetic_scenes"


def test_int_is_accepted_for_float():
    assert load_config(None, ["train.learning_rate=1"]).train.learning_rate == 1.0


@pytest.mark.parametrize(
    "text, match",
    [
        ("[train]\nepoch = 3\n", r"unknown key\(s\) train.epoch. Valid keys in \[train\]: epochs"),
        ("[trian]\nepochs = 3\n", r"unknown section\(s\) \['trian'\]"),
        ('[train]\nepochs = "3"\n', r"train.epochs must be of type int. Received: '3' \(str\)"),
        ("[train.augmentation]\nflip = 1\n", r"train.augmentation.flip must be of type bool"),
        ("[train]\nflip = true\n", r"unknown key\(s\) train.flip. Valid keys in \[train\]"),
        ("[train]\nepochs = true\n", r"train.epochs must be of type int"),
        ("[train]\nlr_decay_epochs = 3\n", r"train.lr_decay_epochs must be a list of int"),
        ("[train]\nepochs = 0\n", r"train.epochs must be >= 1"),
        ("[train]\ncontribution_l1 = -0.1\n", r"train.contribution_l1 must be >= 0"),
        ('[data]\ndataset = "imagenet"\n', r"data.dataset must be one of: synthetic_scenes"),
        ("[train\n", r"is not valid TOML"),
    ],
)
def test_bad_config_files_name_file_key_and_expectation(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        load_config(path)
    assert "bad.toml" in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="Config file not found"):
        load_config(tmp_path / "none.toml")


def test_bad_override_form():
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, ["epochs=3"])


@pytest.mark.parametrize(
    "override, match",
    [
        ("train.learning_rate=nan", r"train.learning_rate must be a finite number \(> 0\). Received: nan"),
        ("train.template_l1=inf", r"train.template_l1 must be a finite number \(>= 0\). Received: inf"),
        ("data.synthetic_scenes.noise=-inf", r"data.synthetic_scenes.noise must be a finite number"),
        ("train.output_loss_weights={scenicness=nan}", r"train.output_loss_weights.scenicness must be a finite"),
        ("train.lr_decay_factor=0", r"train.lr_decay_factor must be > 0. Received: 0.0"),
        ("train.learning_rate=0", r"train.learning_rate must be > 0"),
        ("data.synthetic_scenes.seed=-1", r"data.synthetic_scenes.seed must be between 0 and 2147483647. Received: -1"),
        ("train.seed=-5", r"train.seed must be between 0 and 2147483647. Received: -5"),
        ("train.seed=2147483648", r"train.seed must be between 0 and 2147483647"),
        ("data.image_size=100000", r"data.image_size must be between 32 and 2048. Received: 100000"),
        ("train.lr_decay_epochs=[3, -1]", r"train.lr_decay_epochs\[1\] must be >= 0"),
        ("train.augmentation.crop_min_scale=0", r"train.augmentation.crop_min_scale must be in \(0, 1\]"),
        ("train.augmentation.rotation_degrees=400", r"train.augmentation.rotation_degrees must be between 0 and 180"),
        ("model.template_size=10000", r"model.template_size must be between 1 and 16, the side of the "
                                      r"16 x 16 feature grid of small_cnn at 64 px"),
        ("model.border_size=8", r"model.border_size must be between 0 and 7"),
        ("data.synthetic_scenes.truth_template_size=65", r"data.synthetic_scenes.truth_template_size must be between 1 and"),
    ],
)
def test_values_out_of_range_are_refused_with_key_value_and_range(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(None, [override])


def test_paper_preset_template_fits_resnet50_grid_and_a_larger_one_does_not():
    config = load_config("training/configs/sun_son_resnet50.toml")
    assert config.model.template_size == 15
    with pytest.raises(ConfigError, match=r"15 x 15 feature grid of resnet50 at 450 px"):
        load_config("training/configs/sun_son_resnet50.toml", ["model.template_size=16"])


def test_synthetic_data_that_cannot_fit_in_memory_is_refused_before_generating(monkeypatch):
    from training import config_schema as config_module

    monkeypatch.setattr(config_module, "_memory_bytes", lambda: 24 * 2**30)
    with pytest.raises(ConfigError, match=r"data.synthetic_scenes.num_train \+ num_validation \+ "
                                          r"num_test, data.image_size\) need about"):
        load_config(None, ["data.image_size=2048"])
    load_config(None, ["data.image_size=450"])  # 5500 images of 450 px: 8.3 GiB, accepted


@pytest.mark.parametrize("backbone", ["small_cnn", "resnet50", "mobilenet_v3_small",
                                      "efficientnet_v2_b0"])
def test_feature_grid_arithmetic_matches_the_built_backbones(backbone):
    from siam_keras.models.backbones import build_backbone
    from siam_keras.runtime.feature_grid import feature_grid_size

    for size in (32, 45, 97):
        assert build_backbone(backbone, size).output_shape[1] == feature_grid_size(backbone, size)


def test_dataset_configs_are_checked_by_name():
    paper = "training/configs/sun_son_resnet50.toml"
    assert load_config(paper, ["data.sun_scenic_or_not.sun_config=authors33"]).data.sun_scenic_or_not.sun_config == (
        "authors33")
    with pytest.raises(ConfigError, match="data.sun_scenic_or_not.sun_config must be one of: paper33, authors33, "
                                          "all102. Received: 'paper34'"):
        load_config(paper, ["data.sun_scenic_or_not.sun_config=paper34"])


def test_loading_a_config_imports_no_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from training.config import load_config; "
            "load_config('training/configs/sun_son_resnet50.toml'); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
