"""`validate`: a JSON document against one of siam-keras' JSON Schemas (standard library).

The sidecar (`siam_model.json`) and the test vectors (`test_vectors.json`) are specs
(`docs/sidecar.md`); their schemas lie in `siam_keras/runtime/schemas/`, and every
runtime that reads those files checks them here before using a value: a damaged or
hostile file is refused with one message naming the first field that is wrong,
instead of an AttributeError deep inside, or an infinite tolerance that quietly turns
a check off. This implements the keywords those schemas use (draft 2020-12 meaning):
type, enum, const, required, properties, additionalProperties, propertyNames,
minProperties, items, minItems, maxItems, uniqueItems, minLength, pattern, minimum,
maximum, exclusiveMinimum, if/then/else and local `$ref`s; a schema using another
keyword is refused, so that one is never silently ignored. Numbers must be finite (JSON
has no NaN or infinity; Python's parser accepts them, the readers refuse them when
parsing).
"""

import json
import math
import re
from pathlib import Path

SCHEMAS = Path(__file__).parent / "schemas"
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}
_KNOWN = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "enum", "const",
          "required", "properties", "additionalProperties", "propertyNames", "items",
          "minItems", "maxItems", "uniqueItems", "minLength", "pattern", "minimum", "maximum",
          "exclusiveMinimum", "minProperties", "if", "then", "else"}


class SchemaError(ValueError):
    """A document that does not follow its schema; the message names the field."""


def load_schema(name):
    """The schema `name` (e.g. "siam_model") from `siam_keras/runtime/schemas/`."""
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


#: Digits an integer may have (Python parses any, and a float of it may overflow).
MAX_INT_DIGITS = 30


def strict_json(text):
    """`json.loads` that refuses NaN and Infinity (not JSON), numbers too large for a
    float (1e400, or integers over `MAX_INT_DIGITS` digits), and nesting too deep for
    the parser (all as ValueError)."""
    def refuse(name):
        raise ValueError(f"{name} is not a JSON number")

    def number(text):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"{text[:40]} is too large for a number")
        return value

    def integer(text):
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueError(f"an integer of {len(text)} digits is too large")
        return int(text)
    try:
        return json.loads(text, parse_constant=refuse, parse_float=number, parse_int=integer)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def validate(document, schema, source="<document>"):
    """Raises SchemaError naming `source` and the first field of `document` that breaks
    `schema` (a dict, as `load_schema` returns)."""
    problem = _check(document, schema, schema, "")
    if problem:
        raise SchemaError(f"{source}: {problem}")


def _is(value, kind):
    if kind == "number":
        if isinstance(value, float):
            return math.isfinite(value)
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "null":
        return value is None
    return isinstance(value, _TYPES[kind])


def _check(value, schema, root, where):
    """The first problem of `value` at `where` against `schema`, or None."""
    unknown = set(schema) - _KNOWN
    if unknown:
        raise ValueError(f"the schema uses keywords this validator does not know: {unknown}")
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _check(value, target, root, where)
    at = where or "the document"
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, kind) for kind in kinds):
            return f"{at} must be {' or '.join(kinds)} (finite, for a number). Received: {_shown(value)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{at} must be one of {schema['enum']}. Received: {_shown(value)}"
    if "const" in schema and value != schema["const"]:
        return f"{at} must be {schema['const']!r}. Received: {_shown(value)}"
    checks = (_object if isinstance(value, dict) else _array if isinstance(value, list)
              else _scalar)
    return checks(value, schema, root, where, at) or _conditional(value, schema, root, where)


def _object(value, schema, root, where, at):
    if len(value) < schema.get("minProperties", 0):
        return f"{at} needs at least {schema['minProperties']} fields. Received: {len(value)}"
    for name in schema.get("required", ()):
        if name not in value:
            return f"{at} lacks {name!r}"
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if "propertyNames" in schema and (problem := _check(name, schema["propertyNames"], root,
                                                            f"{where}: key {name!r}")):
            return problem
        inner = f"{where}.{name}" if where else str(name)
        if name in properties:
            problem = _check(item, properties[name], root, inner)
        elif extra is False:
            problem = f"{at} has a field it may not have: {name!r}"
        elif isinstance(extra, dict):
            problem = _check(item, extra, root, inner)
        else:
            problem = None
        if problem:
            return problem
    return None


def _array(value, schema, root, where, at):
    if len(value) < schema.get("minItems", 0):
        return f"{at} needs at least {schema['minItems']} items. Received: {len(value)}"
    if len(value) > schema.get("maxItems", math.inf):
        return f"{at} holds at most {schema['maxItems']} items. Received: {len(value)}"
    if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) < len(value):
        return f"{at} must not repeat an item"
    if "items" in schema:
        for i, item in enumerate(value):
            if problem := _check(item, schema["items"], root, f"{where}[{i}]"):
                return problem
    return None


def _scalar(value, schema, root, where, at):
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return f"{at} must hold at least {schema['minLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{at} must match {schema['pattern']}. Received: {_shown(value)}"
    elif _is(value, "number"):
        if value < schema.get("minimum", -math.inf):
            return f"{at} must be >= {schema['minimum']}. Received: {value!r}"
        if value > schema.get("maximum", math.inf):
            return f"{at} must be <= {schema['maximum']}. Received: {value!r}"
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            return f"{at} must be > {schema['exclusiveMinimum']}. Received: {value!r}"
    return None


def _conditional(value, schema, root, where):
    if "if" not in schema:
        return None
    branch = "then" if _check(value, schema["if"], root, where) is None else "else"
    return _check(value, schema[branch], root, where) if branch in schema else None


def _shown(value):
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
