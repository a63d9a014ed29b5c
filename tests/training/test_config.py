import tomllib

import pytest

from training.config import Config, ConfigError, config_from_dict, config_to_toml, load_config


def test_defaults_and_round_trip():
    config = load_config(None, ["train.epochs=3", "train.lr_decay_epochs=[1, 2]", "model.backbone=resnet50"])
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
        ("[train]\nflip = 1\n", r"train.flip must be of type bool"),
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
