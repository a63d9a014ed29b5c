import pytest

from siam_keras.saving import load_model


def test_missing_model_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="Model file not found"):
        load_model(tmp_path / "none.keras")


def test_not_a_model(tmp_path):
    path = tmp_path / "bad.keras"
    path.write_text("not a zip")
    with pytest.raises(ValueError, match="Could not load .*bad.keras"):
        load_model(path)
