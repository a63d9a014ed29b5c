"""The suite's own settings stay true to the tree."""

from pathlib import Path

from tests.conftest import LONGEST_FIRST

ROOT = Path(__file__).resolve().parents[1]


def test_every_module_run_first_exists():
    """A renamed module would quietly lose its place at the front of `make test`."""
    assert [module for module in LONGEST_FIRST if not (ROOT / module).is_file()] == []
