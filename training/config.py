"""Typed training configs: frozen dataclasses loaded from TOML, validated once.

A config file has the sections `[data]`, `[model]`, `[train]` and `[baseline]`;
every key is optional and defaults to the field's value below. Unknown keys and
values of the wrong type are refused with the file, the key and what was expected.
Overrides use the same dotted names: `--set train.epochs=3 data.num_train=500`.
"""

import dataclasses
import tomllib
import typing
from pathlib import Path


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message says why."""


#: `data.dataset` choices: the built-in data, or the paper's two datasets mixed.
DATASETS = ("synthetic_scenes", "sun_scenic_or_not")
LOSS_WEIGHTINGS = ("fixed", "paper")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    dataset: str = "synthetic_scenes"
    image_size: int = 64
    # synthetic_scenes
    num_train: int = 4000
    num_validation: int = 500
    num_test: int = 1000
    seed: int = 0
    noise: float = 0.1
    #: Side of the true templates of `synthetic_scenes`.
    truth_template_size: int = 8
    # sun_scenic_or_not: the manual folders (see the README) and where TFDS prepares them.
    sun_manual_dir: str = ""
    son_manual_dir: str = ""
    tfds_data_dir: str = ""
    sun_config: str = "paper33"
    son_config: str = "default"
    #: At most this many examples of each split (0: all; for trials and tests).
    max_examples: int = 0


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    backbone: str = "small_cnn"
    #: "" for random initialisation, "imagenet" (needs network), or a weights file.
    backbone_weights: str = ""
    head: str = "templates"
    num_templates: int = 2
    template_size: int = 8
    border_size: int = 0


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 1e-3
    #: Epochs after which the learning rate is divided by `lr_decay_factor`.
    lr_decay_epochs: tuple[int, ...] = (8, 11)
    lr_decay_factor: float = 10.0
    attribute_loss_weight: float = 1.0
    output_loss_weights: dict[str, float] = dataclasses.field(
        default_factory=lambda: {"scenicness": 1.0, "scenicness_variance": 1.0}
    )
    template_l1: float = 1e-4
    #: L1 on each image's contributions: attributes that do not matter contribute
    #: nothing instead of carrying part of the bias (see the README).
    contribution_l1: float = 0.0
    #: "fixed": the weights above; "paper": the authors' rescaling of each term to
    #: the attribute loss, L_sun + 0.1 L_son (L_sun/L_son) + 0.001 L_T (L_sun/L_T).
    loss_weighting: str = "fixed"
    #: Epochs of a first stage on the attributes alone (0: none), then `epochs` joint.
    attribute_epochs: int = 0
    freeze_backbone_attribute_stage: bool = False
    freeze_backbone: bool = False
    #: Steps per epoch when two datasets are mixed (each step: `batch_size` images of
    #: each); 0: one pass over the larger training split.
    steps_per_epoch: int = 0
    mixed_precision: bool = False
    #: Augmentation: horizontal flips, random resized crops of at least this
    #: share of the side, rotations up to this many degrees.
    flip: bool = True
    crop_min_scale: float = 0.9
    rotation_degrees: float = 5.0
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class BaselineConfig:
    enabled: bool = True
    epochs: int = 12


@dataclasses.dataclass(frozen=True)
class Config:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    baseline: BaselineConfig = dataclasses.field(default_factory=BaselineConfig)


SECTIONS = {f.name: f.type for f in dataclasses.fields(Config)}


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


def _section(name, cls, values, source):
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: [{name}] must be a table. Received: {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(f'{name}.{k}' for k in unknown)}. "
            f"Valid keys in [{name}]: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    return cls(**{k: _coerce(f"{source}: {name}.{k}", v, hints[k]) for k, v in values.items()})


def _validate(config, source):
    positive = {
        "data.image_size": config.data.image_size, "data.num_train": config.data.num_train,
        "data.num_validation": config.data.num_validation, "data.num_test": config.data.num_test,
        "train.epochs": config.train.epochs, "train.batch_size": config.train.batch_size,
        "model.num_templates": config.model.num_templates,
        "model.template_size": config.model.template_size,
        "baseline.epochs": config.baseline.epochs,
    }
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"{source}: {key} must be >= 1. Received: {value}")
    for key in ("template_l1", "contribution_l1"):
        if getattr(config.train, key) < 0:
            raise ConfigError(f"{source}: train.{key} must be >= 0. Received: {getattr(config.train, key)}")
    if config.train.learning_rate <= 0:
        raise ConfigError(f"{source}: train.learning_rate must be > 0. Received: {config.train.learning_rate}")
    if not 0 < config.train.crop_min_scale <= 1:
        raise ConfigError(
            f"{source}: train.crop_min_scale must be in (0, 1]. Received: {config.train.crop_min_scale}"
        )
    if config.data.dataset not in DATASETS:
        raise ConfigError(
            f"{source}: data.dataset must be one of: {', '.join(DATASETS)}. "
            f"Received: {config.data.dataset!r}"
        )
    if config.data.dataset == "sun_scenic_or_not":
        for key in ("sun_manual_dir", "son_manual_dir"):
            if not getattr(config.data, key):
                raise ConfigError(f"{source}: data.{key} is needed for sun_scenic_or_not (the "
                                  "folder of the manual download; see the README)")
    if config.train.loss_weighting not in LOSS_WEIGHTINGS:
        raise ConfigError(f"{source}: train.loss_weighting must be one of: "
                          f"{', '.join(LOSS_WEIGHTINGS)}. Received: {config.train.loss_weighting!r}")
    for key in ("attribute_epochs", "steps_per_epoch"):
        if getattr(config.train, key) < 0:
            raise ConfigError(f"{source}: train.{key} must be >= 0. Received: {getattr(config.train, key)}")
    return config


def config_from_dict(values, source="<config>"):
    """Builds and validates a `Config` from nested dicts (e.g. parsed TOML)."""
    unknown = sorted(set(values) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"{source}: unknown section(s) {unknown}. Valid sections: {', '.join(SECTIONS)}"
        )
    sections = {name: _section(name, cls, values.get(name, {}), source) for name, cls in SECTIONS.items()}
    return _validate(Config(**sections), source)


def parse_override(text):
    """'train.epochs=3' -> (("train", "epochs"), 3); values are TOML, bare words strings."""
    key, sep, raw = text.partition("=")
    parts = tuple(key.strip().split("."))
    if not sep or len(parts) != 2 or not all(parts):
        raise ConfigError(
            f"An override must look like section.key=value (e.g. train.epochs=3). Received: {text!r}"
        )
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return parts, value


def load_config(path=None, overrides=()):
    """Reads a TOML file (None: all defaults) and applies `section.key=value` overrides."""
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
    if overrides:
        source = f"{source} with --set overrides" if path is not None else "--set overrides"
    for override in overrides:
        (section, key), value = parse_override(override)
        values.setdefault(section, {})
        if not isinstance(values[section], dict):
            raise ConfigError(f"{source}: [{section}] must be a table.")
        values[section][key] = value
    return config_from_dict(values, source)


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def config_to_toml(config):
    """The effective config as TOML text that `load_config` reads back unchanged."""
    lines = []
    for name in SECTIONS:
        lines.append(f"[{name}]")
        for key, value in dataclasses.asdict(getattr(config, name)).items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)
