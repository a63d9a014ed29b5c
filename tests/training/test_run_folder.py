import pytest

from training.cli import main
from training.config import load_config
from training.run_folder import RUN_ENTRIES, RunFolderError, config_differences, prepare_run_folder

QUIET = {"log": lambda *args: None}


def _started_run(folder, overrides=()):
    """A run that was killed after it started: its config.toml and a checkpoint."""
    config = load_config("training/configs/demo.toml", list(overrides))
    prepare_run_folder(folder, config, **QUIET)
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "state.json").write_text("{}")
    return config


def test_a_restart_with_another_config_is_refused_naming_the_keys(tmp_path, capsys):
    _started_run(tmp_path)
    before = (tmp_path / "config.toml").read_text()
    code = main(["--keep-unhealthy", "--config", "training/configs/demo.toml", "--out", str(tmp_path), "--set",
                 "data.image_size=32", "train.learning_rate=0.01"])
    assert code == 2
    err = capsys.readouterr().err
    assert "data.image_size (64 -> 32)" in err and "train.learning_rate (0.001 -> 0.01)" in err
    assert "--overwrite" in err and "Traceback" not in err
    assert (tmp_path / "config.toml").read_text() == before  # not rewritten
    assert (tmp_path / "checkpoints" / "state.json").exists()  # nothing lost


def test_a_restart_with_the_same_config_resumes(tmp_path):
    config = _started_run(tmp_path)
    assert prepare_run_folder(tmp_path, config, **QUIET) is True
    assert (tmp_path / "checkpoints" / "state.json").exists()


def test_overwrite_removes_only_what_a_run_writes(tmp_path):
    config = _started_run(tmp_path)
    for name in RUN_ENTRIES:
        path = tmp_path / name
        if not path.exists():
            path.mkdir() if "." not in name else path.write_text("old")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"jpeg")
    with pytest.raises(RunFolderError, match="finished run"):
        prepare_run_folder(tmp_path, config, **QUIET)
    assert prepare_run_folder(tmp_path, config, overwrite=True, **QUIET) is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "notes.txt", "photos"]
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "photos" / "a.jpg").read_bytes() == b"jpeg"


def test_a_folder_with_run_files_but_no_config_is_not_taken_over(tmp_path):
    (tmp_path / "model.keras").write_text("someone else's model")
    config = load_config(None)
    with pytest.raises(RunFolderError, match="model.keras but no config.toml"):
        prepare_run_folder(tmp_path, config, **QUIET)
    assert (tmp_path / "model.keras").read_text() == "someone else's model"


def test_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "x").write_text("a file")
    with pytest.raises(RunFolderError, match="is a file"):
        prepare_run_folder(tmp_path / "x", load_config(None), **QUIET)


def test_config_differences_list_every_changed_key():
    a = load_config(None)
    b = load_config(None, ["train.epochs=3", "model.head=linear"])
    assert config_differences(a, b) == ["model.head ('templates' -> 'linear')",
                                        "train.epochs (12 -> 3)"]
    assert config_differences(a, a) == []
