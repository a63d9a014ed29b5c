"""The pipelines' commands work from any folder, not only the repository."""

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("command, words", [
    (["siam-train", "--help"], "usage: siam-train"),
    (["siam-export", "--help"], "usage: siam-export"),
    ([sys.executable, "-m", "training", "--help"], "usage: siam-train"),
    ([sys.executable, "-m", "export", "--help"], "usage: siam-export"),
])
def test_commands_run_from_another_folder(tmp_path, command, words):
    if not command[0].startswith(sys.executable):
        command = [str(BIN / command[0]), *command[1:]]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert words in result.stdout


def test_a_shipped_config_is_found_by_name_from_another_folder(tmp_path):
    result = subprocess.run([str(BIN / "siam-train"), "--config", "demo", "--out", "x", "--set",
                             "train.epochs=0"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert "demo.toml with --set overrides: train.epochs must be >= 1" in result.stderr
