import pytest

from siam_keras.cli import main


def test_missing_model_file_is_named(tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "none.keras"), "--out", str(tmp_path / "o.json")]) == 2
    assert "Model file not found" in capsys.readouterr().err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0 and "evaluate" in capsys.readouterr().out


def test_too_few_images(tmp_path, capsys):
    assert main(["evaluate", "--model", "m.keras", "--out", str(tmp_path / "o.json"), "--num-images", "1"]) == 2
    assert "--num-images must be at least 2" in capsys.readouterr().err
