"""Training configs as TOML: reading (with `--set` overrides), checking, writing back.

The tables and their rules are `training.config_schema`'s dataclasses, re-exported
here with `ConfigError`. Unknown keys and values of the wrong type are refused with
the file, the key and what was expected; a table's own checks (its `__post_init__`)
are reported with the file too.
"""

import dataclasses
import typing
from pathlib import Path

import tomllib

from siam_keras.data.run_config import resolve_manifest_files
from training.config_ranges import ConfigError
from training.config_schema import (  # noqa: F401  (re-exported)
    DATASETS,
    DISTRIBUTIONS,
    LOSS_WEIGHTINGS,
    MAX_IMAGE_SIZE,
    MAX_SEED,
    SECTIONS,
    SON_CONFIGS,
    SUN_CONFIGS,
    AugmentationConfig,
    BaselineConfig,
    Config,
    DataConfig,
    ManifestConfig,
    ModelConfig,
    SunScenicOrNotConfig,
    SyntheticScenesConfig,
    TrainConfig,
)


def _type_name(tp):
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(where, value, tp):
    """Checks `value` against the annotation `tp`, converting only int -> float."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        (item,) = {a for a in typing.get_args(tp) if a is not Ellipsis}
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list of {_type_name(item)}. Received: {value!r}")
        return tuple(_coerce(f"{where}[{i}]", v, item) for i, v in enumerate(value))
    if origin is dict:
        key_type, item = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table of {_type_name(item)}. Received: {value!r}")
        return {str(k): _coerce(f"{where}.{k}", v, item) for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, bool) or not isinstance(value, tp):
        raise ConfigError(
            f"{where} must be of type {_type_name(tp)}. Received: {value!r} "
            f"({type(value).__name__})"
        )
    return value


def _table(path, cls, values, source):
    """A table's dataclass from its (nested) dict of values."""
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: [{path}] must be a table. Received: {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(f'{path}.{k}' for k in unknown)}. "
            f"Valid keys in [{path}]: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        if dataclasses.is_dataclass(hints[key]):
            kwargs[key] = _table(f"{path}.{key}", hints[key], value, source)
        else:
            kwargs[key] = _coerce(f"{source}: {path}.{key}", value, hints[key])
    return _created(cls, kwargs, source)


def _created(cls, kwargs, source):
    try:
        return cls(**kwargs)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def config_from_dict(values, source="<config>"):
    """Builds and checks a `Config` from nested dicts (e.g. parsed TOML)."""
    unknown = sorted(set(values) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"{source}: unknown section(s) {unknown}. Valid sections: {', '.join(SECTIONS)}"
        )
    sections = {name: _table(name, cls, values.get(name, {}), source)
                for name, cls in SECTIONS.items()}
    return _created(Config, sections, source)


def parse_override(text):
    """'train.epochs=3' -> (("train", "epochs"), 3); values are TOML, bare words strings."""
    key, sep, raw = text.partition("=")
    parts = tuple(key.strip().split("."))
    if not sep or len(parts) < 2 or not all(parts):
        raise ConfigError(
            "An override must look like section.key=value (e.g. train.epochs=3, "
            f"data.synthetic_scenes.num_train=500). Received: {text!r}"
        )
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return parts, value


def load_config(path=None, overrides=()):
    """Reads a TOML file (None: all defaults) and applies `table.key=value` overrides."""
    values, source = {}, "<defaults>"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise FileNotFoundError(f"Config file not found: {path}")
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path} is not valid TOML: {error}") from error
        resolve_manifest_files(values.get("data"), path.parent)
    if overrides:
        source = f"{source} with --set overrides" if path is not None else "--set overrides"
    for override in overrides:
        parts, value = parse_override(override)
        table = values
        for depth, name in enumerate(parts[:-1]):
            table = table.setdefault(name, {})
            if not isinstance(table, dict):
                raise ConfigError(f"{source}: [{'.'.join(parts[:depth + 1])}] must be a table.")
        table[parts[-1]] = value
    return config_from_dict(values, source)


def _toml_key(key):
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() \
        else _toml_value(key)


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def _toml_table(path, table, lines):
    lines.append(f"[{path}]")
    nested = []
    for spec in dataclasses.fields(table):
        value = getattr(table, spec.name)
        if dataclasses.is_dataclass(value):
            nested.append((f"{path}.{spec.name}", value))
        else:
            lines.append(f"{spec.name} = {_toml_value(value)}")
    lines.append("")
    for sub_path, sub_table in nested:
        _toml_table(sub_path, sub_table, lines)


def config_to_toml(config):
    """The effective config as TOML text that `load_config` reads back unchanged."""
    lines = []
    for name in SECTIONS:
        _toml_table(name, getattr(config, name), lines)
    return "\n".join(lines)


def flat_items(config):
    """{"table.key": value} of every setting of a config (nested tables spelled out)."""
    items = {}

    def walk(path, table):
        for spec in dataclasses.fields(table):
            value = getattr(table, spec.name)
            if dataclasses.is_dataclass(value):
                walk(f"{path}.{spec.name}", value)
            else:
                items[f"{path}.{spec.name}"] = value

    for name in SECTIONS:
        walk(name, getattr(config, name))
    return items
