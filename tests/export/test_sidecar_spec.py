"""The sidecar as a spec: the export's JSON files against the JSON Schemas
(siam_keras/runtime/schemas/) and the words of docs/sidecar.md."""

import copy
import json
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMAS = Path(__file__).resolve().parents[2] / "siam_keras" / "runtime" / "schemas"


def schema(name):
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def validate(path, name):
    """The messages of `path`'s JSON against <name>.schema.json ([] when valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(name))
    data = json.loads(Path(path).read_text()) if not isinstance(path, dict) else path
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(data)]


def _property_names(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties":
                yield from value
            yield from _property_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _property_names(value)


def test_the_schemas_are_valid_json_schemas():
    import jsonschema

    for name in ("siam_model", "test_vectors"):
        jsonschema.Draft202012Validator.check_schema(schema(name))


def test_the_exported_sidecars_follow_the_schema(tiny_export):
    sidecars = [tiny_export / "tflite" / "siam_model.json", tiny_export / "web" / "siam_model.json",
                *sorted((tiny_export / "saved_model").glob("*/assets/siam_model.json"))]
    assert len(sidecars) >= 3
    for path in sidecars:
        assert validate(path, "siam_model") == [], path
    assert validate(tiny_export / "tflite" / "test_vectors" / "test_vectors.json",
                    "test_vectors") == []


def test_the_schema_refuses_an_undescribed_field_and_a_wrong_shape(tiny_export):
    sidecar = json.loads((tiny_export / "tflite" / "siam_model.json").read_text())
    for edit in (lambda d: d.update(extra=1),
                 lambda d: d["tflite"]["int8"].update(scale=0.1),
                 lambda d: d["input"].update(channels=4),
                 lambda d: d["head"]["scenicness"].update(bias=[1.0, 2.0]),
                 lambda d: d["tflite"]["float32"].update(sha256="not a digest")):
        edited = copy.deepcopy(sidecar)
        edit(edited)
        assert validate(edited, "siam_model") != []


def test_sidecar_md_describes_every_field_of_both_schemas():
    text = (DOCS / "sidecar.md").read_text()
    for name in ("siam_model", "test_vectors"):
        for field in set(_property_names(schema(name))):
            assert re.search(rf"`{re.escape(field)}`", text), f"docs/sidecar.md: `{field}`?"
