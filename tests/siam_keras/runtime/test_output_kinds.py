"""`output_kinds`: every kind's JSON, its checks, and the page's copy of the registry."""

import re
from pathlib import Path

import numpy as np
import pytest

from siam_keras.runtime import output_kinds
from siam_keras.runtime.output_kinds import (
    KINDS,
    REGRESSION,
    Classification,
    Regression,
    kind_from_labels,
    kinds_by_output,
    output_kind,
)

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = [ROOT / "siam_keras", ROOT / "training", ROOT / "export"]


def _example(name):
    kind = KINDS[name]
    return kind() if kind.label_key is None else kind(["a", "b", "c"])


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_reads_back_from_its_json(name):
    kind = _example(name)
    assert output_kind(kind.to_json()) == kind
    assert kind_from_labels(name, kind.labels) == kind
    assert kind.shape == ((3,) if kind.labelled else ())
    assert np.shape(kind.check_bias("out", 0.5)) == kind.shape


def test_a_format_2_head_entry_is_a_classification_output():
    assert output_kind({"classes": ["x", "y"]}) == Classification(["x", "y"])
    assert output_kind({}) == REGRESSION


@pytest.mark.parametrize("given, error, match", [
    ({"kinds": {"other": {}}}, ValueError, r"names unknown outputs \['other'\]"),
    ({"kinds": {"score": {"kind": "ranking"}}}, ValueError, "must be one of .* Received: .ranking."),
    ({"kinds": {"score": "multilabel"}}, TypeError, "The kind of output .score. must be an OutputKind"),
    ({"classes": {"other": ["a", "b"]}}, ValueError, r"`output_classes` names unknown outputs"),
    ({"classes": {"score": ["a"]}}, ValueError, "The classes of output .score. must be at least 2"),
    ({"classes": {"score": ["one"]}}, ValueError, "at least 2 unique"),
    ({"classes": ["score"]}, TypeError, "must be a dict"),
])
def test_wrong_kinds_are_named(given, error, match):
    with pytest.raises(error, match=match):
        kinds_by_output(["score"], **given)


def test_missing_labels_get_no_weight_in_every_kind():
    assert Regression().targets([1.0, np.nan])[1].tolist() == [1.0, 0.0]
    assert Classification(["a", "b"]).targets([1, -1])[1].tolist() == [1.0, 0.0]


def test_the_web_page_knows_every_kind_by_the_same_names():
    """export/web/kinds.js is the page's copy of the registry: the same kinds, read from
    the same keys of a sidecar's head entry."""
    text = (ROOT / "export" / "web" / "kinds.js").read_text(encoding="utf-8")
    registry = re.search(r"export const KINDS = \{([^}]*)\}", text).group(1)
    page = dict(re.findall(r"(\w+): (\w+)", registry))
    assert set(page) == set(KINDS)
    for name, kind in KINDS.items():
        block = re.search(rf"const {page[name]} = \{{(.*?)\n\}};", text, re.S).group(1)
        key = re.search(r'labelKey: (null|"(\w+)")', block)
        assert (key.group(2) or None) == kind.label_key, name
        assert f'name: "{name}"' in block
        assert f"sidecarFormat: {kind.sidecar_format}," in block, name


def test_no_module_tests_which_kind_an_output_is():
    """Only output_kinds.py (and the page's kinds.js) decide what a kind does: no other
    product module tests a class list or a kind's name."""
    pattern = re.compile(r"classes is (not )?None|in output_classes|is_classification|"
                         r"isClassification|kind\.name ==|== \"classification\"")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for root in PRODUCT
                 for path in [*root.rglob("*.py"), *root.glob("web/*.js")]
                 if path.name not in ("output_kinds.py", "kinds.js")
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert not offenders, offenders
    assert output_kinds.__doc__
