"""The sidecar is checked against its JSON Schema before any value is used.

A damaged sidecar gave AttributeError (`"head": [1]`) or RecursionError tracebacks in
siam-edge, and `"tolerance": Infinity` silently turned the explanation check off. The
project's validator (`siam_keras.runtime.json_schema`) must agree with the reference
implementation (jsonschema) on every damaged copy of a real export's sidecar, and the
loaders must refuse each bad one with a ValueError naming the field.
"""

import copy
import json

import numpy as np
import pytest

from siam_keras.runtime.json_schema import SchemaError, load_schema, validate
from siam_keras.runtime.sidecar import ModelSidecar

pytestmark = pytest.mark.slow

REPLACEMENTS = (None, "x", -1, 0, 0.5, True, [], {}, [1], {"a": 1}, [[["deep"]]], "a" * 300)


def _paths(node, where=()):
    """Every path into a JSON document, leaves and containers, head arrays cut short."""
    yield where
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*where, key))
    elif isinstance(node, list) and node and not isinstance(node[0], (int, float, list)):
        for i, value in enumerate(node[:2]):
            yield from _paths(value, (*where, i))


def _mutated(document, path, replacement):
    changed = copy.deepcopy(document)
    parent = changed
    for part in path[:-1]:
        parent = parent[part]
    if replacement is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return changed


_DELETE = object()


@pytest.fixture(scope="module")
def sidecar(tiny_export):
    return json.loads((tiny_export / "tflite" / "siam_model.json").read_text())


def test_the_validator_agrees_with_jsonschema_on_every_damaged_sidecar(sidecar, tmp_path):
    import jsonschema

    reference = jsonschema.Draft202012Validator(load_schema("siam_model"))
    assert reference.is_valid(sidecar)
    validate(sidecar, load_schema("siam_model"))
    tried = refused = 0
    for path in list(_paths(sidecar))[1:]:
        for replacement in (*REPLACEMENTS, _DELETE):
            document = _mutated(sidecar, path, replacement)
            expected_valid = reference.is_valid(document)
            try:
                validate(document, load_schema("siam_model"))
                valid = True
            except SchemaError:
                valid = False
            assert valid == expected_valid, (path, replacement)
            file = tmp_path / "siam_model.json"
            file.write_text(json.dumps(document))
            try:
                ModelSidecar.load(file)
            except ValueError as error:
                assert str(file) in str(error)
                refused += 1
            tried += 1
    assert tried > 500 and refused > tried // 2


@pytest.mark.parametrize("text, message", [
    ('"tolerance": Infinity', "Infinity is not a JSON number"),
    ('"tolerance": NaN', "NaN is not a JSON number"),
    ('"tolerance": -1', "must be > 0"),
])
def test_a_tolerance_that_would_turn_the_check_off_is_refused(sidecar, tmp_path, text, message):
    variant = next(iter(sidecar["tflite"]))
    document = json.dumps(sidecar).replace(
        f'"tolerance": {json.dumps(sidecar["tflite"][variant]["tolerance"])}', text, 1)
    (tmp_path / "siam_model.json").write_text(document)
    with pytest.raises(ValueError, match=message):
        ModelSidecar.load(tmp_path / "siam_model.json")


def test_a_head_of_the_wrong_type_or_nested_without_end_is_one_value_error(sidecar, tmp_path):
    path = tmp_path / "siam_model.json"
    path.write_text(json.dumps({**sidecar, "head": [1]}))
    with pytest.raises(ValueError, match=r"head must be object"):
        ModelSidecar.load(path)
    path.write_text(json.dumps(sidecar)[:-1] + ', "deep": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(ValueError, match="not readable JSON"):
        ModelSidecar.load(path)


def test_matrices_whose_shapes_disagree_are_refused(sidecar, tmp_path):
    name = next(iter(sidecar["head"]))
    broken = copy.deepcopy(sidecar)
    broken["head"][name]["mixing"] = np.zeros((2, 2)).tolist()
    (tmp_path / "siam_model.json").write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="incomplete or damaged sidecar"):
        ModelSidecar.load(tmp_path / "siam_model.json")
