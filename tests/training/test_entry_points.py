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


def test_train_help_lists_every_table_a_config_has():
    """`siam-train --help` named the tables but not `[data.manifest]`."""
    import re
    import textwrap

    from training.cli import build_parser
    from training.config import config_to_toml, load_config

    text = config_to_toml(load_config("training/configs/demo.toml"))
    tables = re.findall(r"^\[([\w.]+)\]$", text, re.M)
    shown = " ".join(textwrap.dedent(build_parser().format_help()).split())
    assert "data.manifest" in tables
    for table in tables:
        assert f"[{table}]" in shown, table
