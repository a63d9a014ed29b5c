"""The documentation: a short README that leads to every guide, and a site that builds cleanly.

The site (`make docs`) is MkDocs over `docs/` with mkdocstrings' API reference; its build
needs the `docs` extra, and is skipped, saying so, where that is not installed.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 300


def guides():
    return sorted((ROOT / "docs").glob("*.md"))


def nav_pages():
    """The pages mkdocs.yml's nav lists (`- Title: page.md`, nested or not)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text.split("\nnav:\n", 1)[1]
    end = re.search(r"^\S", nav, re.MULTILINE)  # the next top-level key, or a comment
    nav = nav[:end.start()] if end else nav
    return re.findall(r"^\s*- [^:\n]*:\s*([\w./-]+\.md)\s*$", nav, re.MULTILINE)


def readme_links():
    """The relative link targets of README.md (images included), without their #anchors."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [target.split("#")[0] for target in targets
            if not re.match(r"[a-z]+:", target) and not target.startswith("#")]


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (f"README.md has {len(lines)} lines; at most "
                                            f"{README_MAX_LINES}: move detail to a guide in docs/")


def test_every_guide_is_linked_from_the_readme_or_the_site_nav():
    linked = {(ROOT / target).resolve() for target in readme_links()}
    in_nav = {(ROOT / "docs" / page).resolve() for page in nav_pages()}
    orphans = [path.name for path in guides() if path.resolve() not in linked | in_nav]
    assert not orphans, f"guides neither in README.md nor in mkdocs.yml's nav: {orphans}"
    assert (ROOT / "docs" / "index.md").resolve() in in_nav


def test_the_site_nav_and_the_readme_name_only_files_that_exist():
    missing = [page for page in nav_pages() if not (ROOT / "docs" / page).is_file()]
    missing += [target for target in readme_links() if not (ROOT / target).exists()]
    assert not missing, missing
    assert len(nav_pages()) == len(set(nav_pages())), nav_pages()


def test_the_changelog_is_top_level_and_in_the_site():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## Changes since 0.2.0 (unreleased)" in changelog
    assert "## Changes in 0.2.0" in changelog
    assert '--8<-- "CHANGELOG.md"' in (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_site_builds_strictly_without_a_warning(tmp_path):
    """`mkdocs build --strict` as `make docs` runs it: broken links or anchors between the
    guides, a missing nav page and docstrings mkdocstrings cannot parse are warnings, and
    any warning fails (strict mode aborts; the output is checked as well)."""
    pytest.importorskip("mkdocs", reason="the docs extra: pip install -e '.[docs]' (make docs)")
    pytest.importorskip("mkdocstrings_handlers.python",
                        reason="the docs extra: pip install -e '.[docs]' (make docs)")
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                             "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                            cwd=ROOT, check=False, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "WARNING" not in output, output[-4000:]
    for guide in guides():
        assert (site / guide.with_suffix(".html").name).is_file(), guide.name
    api = (site / "api.html").read_text(encoding="utf-8")
    for name in ("siam_keras.layers.SIAMLayer", "siam_keras.models.build_siam_model",
                 "siam_keras.runtime.explanation", "SIAMExplainer", "siam_keras.model_files"):
        assert name in api, name
    assert "Changes in 0.2.0" in (site / "changelog.html").read_text(encoding="utf-8")
