"""The training config's tables: frozen dataclasses, each checked where it is defined.

`training.config` reads and writes them as TOML. A config file has the tables `[data]` (with `[data.synthetic_scenes]`,
`[data.sun_scenic_or_not]` and `[data.manifest]`: each dataset's own settings), `[model]`, `[train]` (with
`[train.augmentation]`) and `[baseline]`; every key is optional and defaults to the
field's value below. Unknown keys and values of the wrong type are refused with the
file, the key and what was expected; every number has its range beside it (`field`),
checked with the table's other rules in its `__post_init__`. Overrides use the same
dotted names: `--set train.epochs=3 data.synthetic_scenes.num_train=500`.
"""

import dataclasses
import os

from siam_keras.data.run_config import MANIFEST_DEFAULTS
from siam_keras.data.synthetic_scenes import (
    DEFAULT_NOISE,
    DEFAULT_SPLIT_SIZES,
    DEFAULT_TEMPLATE_SIZE,
)
from siam_keras.data.tfds import scenic_or_not, sun_attributes
from siam_keras.runtime.feature_grid import MIN_IMAGE_SIZE
from siam_keras.runtime.head_choices import CLASS_TEMPLATES  # `model.class_templates` choices
from siam_keras.vocabulary import PAPER_OUTPUTS
from training.config_ranges import ConfigError, check_ranges, field
from training.sources import SOURCES

#: `data.dataset` choices, one per registered source: the built-in data, the paper's two
#: datasets mixed, or your own photos listed in manifest files.
DATASETS = tuple(SOURCES)
LOSS_WEIGHTINGS = ("fixed", "paper")
#: `train.optimizer` choices (`training.optimizers`).
OPTIMIZERS = ("adam", "pytorch_adam")
#: `train.distribution` choices (`training.distribution`): one device, TensorFlow's
#: MirroredStrategy, Keras' DataParallel on the JAX backend.
DISTRIBUTIONS = ("none", "mirrored", "data_parallel", "multi_host")
#: The TFDS configs of the two datasets (`siam_keras.data.tfds`' builders).
SUN_CONFIGS = tuple(sun_attributes.CONFIGS)
SON_CONFIGS = tuple(scenic_or_not.CONFIGS)
#: Largest input side a config may ask for: the paper uses 450 px, and a batch of
#: 2048 px images already needs about 20 times its memory.
MAX_IMAGE_SIZE = 2048
#: Seeds are non-negative 32-bit signed integers: the augmentation's stateless random
#: ops take them as int32, NumPy and Keras take any of them.
MAX_SEED = 2**31 - 1
#: Share of the machine's memory that generated `synthetic_scenes` splits may take.
MAX_MEMORY_SHARE = 0.5


def _choice(key, value, choices):
    if value not in choices:
        raise ConfigError(f"{key} must be one of: {', '.join(choices)}. Received: {value!r}")


class _Table:
    """A config table: `PATH` is its dotted name; its numbers (`field` ranges) and its
    `CHOICES` ({field: the values it may take}) are checked on creation."""

    PATH = ""
    CHOICES = {}

    def __post_init__(self):
        check_ranges({self.PATH: self})
        for name, choices in self.CHOICES.items():
            _choice(f"{self.PATH}.{name}", getattr(self, name), choices)


@dataclasses.dataclass(frozen=True)
class SyntheticScenesConfig(_Table):
    PATH = "data.synthetic_scenes"
    num_train: int = field(DEFAULT_SPLIT_SIZES["train"], low=1)
    num_validation: int = field(DEFAULT_SPLIT_SIZES["validation"], low=1)
    num_test: int = field(DEFAULT_SPLIT_SIZES["test"], low=1)
    seed: int = field(0, low=0, high=MAX_SEED)
    noise: float = field(DEFAULT_NOISE, low=0.0)
    #: Side of the true templates.
    truth_template_size: int = field(DEFAULT_TEMPLATE_SIZE, low=1)
    #: The outputs generated: the paper's two, the classification output "landscape" and/or
    #: the multi-label output "tags".
    outputs: tuple[str, ...] = PAPER_OUTPUTS

    def __post_init__(self):
        super().__post_init__()
        from siam_keras.data.synthetic_scenes import OUTPUTS

        wrong = [name for name in self.outputs if name not in OUTPUTS]
        if wrong or not self.outputs or len(set(self.outputs)) != len(self.outputs):
            raise ConfigError(f"{self.PATH}.outputs must be unique names among: "
                              f"{', '.join(OUTPUTS)}. Received: {list(self.outputs)}")


@dataclasses.dataclass(frozen=True)
class ManifestConfig(_Table):
    """Your own photos: manifest files (CSV, TSV, Parquet, JSON Lines) listing images with
    attribute and output columns. Relative `files` are read from the config file's folder."""

    PATH = "data.manifest"
    files: tuple[str, ...] = ()
    # The defaults are the library's (`MANIFEST_DEFAULTS`), which `siam evaluate --config`
    # and `siam explain --config` fill in.
    image_column: str = MANIFEST_DEFAULTS["image_column"]
    #: Columns of attribute labels in [0, 1] (0/1, graded votes or fractions).
    attribute_columns: tuple[str, ...] = MANIFEST_DEFAULTS["attribute_columns"]
    #: Optional columns: the split (train / validation / test; "": a hashed 80/10/10 split),
    #: and where each photo was taken (decimal degrees).
    split_column: str = MANIFEST_DEFAULTS["split_column"]
    latitude_column: str = MANIFEST_DEFAULTS["latitude_column"]
    longitude_column: str = MANIFEST_DEFAULTS["longitude_column"]
    #: {output column: its kind}, one of `siam_keras.runtime.output_kinds.KINDS`.
    outputs: dict[str, str] = dataclasses.field(
        default_factory=lambda: dict(MANIFEST_DEFAULTS["outputs"]))
    #: Images larger than this many pixels are skipped unread (decompression bombs).
    max_pixels: int = field(MANIFEST_DEFAULTS["max_pixels"], low=1)

    def check(self):
        """The checks that apply when `data.dataset = "manifest"`."""
        from siam_keras import vocabulary
        from siam_keras.data.manifest.reading import OUTPUT_KINDS

        path = self.PATH
        if not self.files:
            raise ConfigError(f"{path}.files must list at least one manifest file")
        if not self.attribute_columns:
            raise ConfigError(f"{path}.attribute_columns must name at least one column")
        if not self.outputs:
            raise ConfigError(f"[{path}.outputs] must name at least one output column and its "
                              f"kind, e.g. biodiversity = \"regression\"")
        for name, kind in self.outputs.items():
            _choice(f"{path}.outputs.{name}", kind, OUTPUT_KINDS)
        try:
            vocabulary.validate_output_names(tuple(self.outputs))
        except ValueError as error:
            raise ConfigError(f"[{path}.outputs]: {error}") from None
        columns = [self.image_column, *self.attribute_columns, *self.outputs,
                   *(c for c in (self.split_column, self.latitude_column,
                                 self.longitude_column) if c)]
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            raise ConfigError(f"{path}: each column can have one role only. Received "
                              f"{repeated} more than once")
        if bool(self.latitude_column) != bool(self.longitude_column):
            raise ConfigError(f"{path}.latitude_column and longitude_column go together. "
                              f"Received: {self.latitude_column!r}, {self.longitude_column!r}")


@dataclasses.dataclass(frozen=True)
class SunScenicOrNotConfig(_Table):
    PATH = "data.sun_scenic_or_not"
    CHOICES = {"sun_config": SUN_CONFIGS, "son_config": SON_CONFIGS}
    #: The manual folders (see the README) and where TFDS prepares them.
    sun_manual_dir: str = ""
    son_manual_dir: str = ""
    tfds_data_dir: str = ""
    #: "paper33" (our 102 -> 33 mapping), "authors33" (the authors' own labels), "all102".
    sun_config: str = "paper33"
    #: "default" (split by photo) or "spatial" (by 10 km map cells).
    son_config: str = "default"
    #: At most this many examples of each split (0: all; for trials and tests).
    max_examples: int = field(0, low=0)


@dataclasses.dataclass(frozen=True)
class DataConfig(_Table):
    PATH = "data"
    CHOICES = {"dataset": DATASETS}
    dataset: str = "synthetic_scenes"
    image_size: int = field(64, low=MIN_IMAGE_SIZE, high=MAX_IMAGE_SIZE)
    synthetic_scenes: SyntheticScenesConfig = dataclasses.field(
        default_factory=SyntheticScenesConfig)
    sun_scenic_or_not: SunScenicOrNotConfig = dataclasses.field(
        default_factory=SunScenicOrNotConfig)
    manifest: ManifestConfig = dataclasses.field(default_factory=ManifestConfig)

    def __post_init__(self):
        super().__post_init__()
        if self.dataset == "sun_scenic_or_not":
            for key in ("sun_manual_dir", "son_manual_dir"):
                if not getattr(self.sun_scenic_or_not, key):
                    raise ConfigError(f"data.sun_scenic_or_not.{key} is needed for "
                                      "sun_scenic_or_not (the folder of the manual download; "
                                      "see the README)")
        if self.dataset == "manifest":
            self.manifest.check()
        if self.synthetic_scenes.truth_template_size > self.image_size:
            raise ConfigError(f"data.synthetic_scenes.truth_template_size must be between 1 and "
                              f"data.image_size={self.image_size}. Received: "
                              f"{self.synthetic_scenes.truth_template_size}")


@dataclasses.dataclass(frozen=True)
class ModelConfig(_Table):
    PATH = "model"
    CHOICES = {"class_templates": CLASS_TEMPLATES}
    #: One of the built-in networks, or "hub:<preset>": a keras-hub image backbone (a
    #: preset name, a kaggle:// or hf:// handle, or a local preset folder).
    backbone: str = "small_cnn"
    #: "" for random initialisation, "imagenet" (needs network), or a weights file;
    #: "preset" for a "hub:" backbone (the preset's weights).
    backbone_weights: str = ""
    head: str = "templates"
    num_templates: int = field(2, low=1, high=64)
    #: At most the side of the backbone's feature grid (checked with the data's image size).
    template_size: int = field(8, low=1)
    border_size: int = field(0, low=0)
    #: How a classification output's classes use the templates: "shared" or "per_class".
    class_templates: str = "shared"


@dataclasses.dataclass(frozen=True)
class AugmentationConfig(_Table):
    PATH = "train.augmentation"
    #: Horizontal flips, random resized crops of at least this share of the side,
    #: rotations up to this many degrees.
    flip: bool = True
    crop_min_scale: float = field(0.9, above=0.0, high=1.0)
    rotation_degrees: float = field(5.0, low=0.0, high=180.0)


@dataclasses.dataclass(frozen=True)
class TrainConfig(_Table):
    PATH = "train"
    CHOICES = {"loss_weighting": LOSS_WEIGHTINGS, "distribution": DISTRIBUTIONS,
               "optimizer": OPTIMIZERS}
    epochs: int = field(12, low=1)
    #: The global batch: with several devices each takes an equal share of it.
    batch_size: int = field(32, low=1, high=65536)
    learning_rate: float = field(1e-3, above=0.0)
    #: "adam": Keras' Adam; "pytorch_adam": torch.optim.Adam's update (epsilon added after
    #: bias correction), the authors' optimizer (`training.optimizers`).
    optimizer: str = "adam"
    #: Adam's epsilon: Keras' default 1e-7; the authors' (PyTorch's default) is 1e-8.
    adam_epsilon: float = field(1e-7, above=0.0)
    #: Epochs after which the learning rate is divided by `lr_decay_factor`.
    lr_decay_epochs: tuple[int, ...] = field(low=0, factory=lambda: (8, 11))
    lr_decay_factor: float = field(10.0, above=0.0)
    #: The loss weights of `"fixed"` weighting, and the weights of the validation
    #: loss the best model is selected on (under either weighting; see the README).
    attribute_loss_weight: float = field(1.0, low=0.0)
    #: {output: weight}; an output not listed weighs 1.
    output_loss_weights: dict[str, float] = field(low=0.0, factory=dict)
    #: L1 on the templates (the paper's sparsity penalty; the paper config sets it under
    #: its own weighting, the demo 1e-4). 0 by default: with Adam a small L1 makes training
    #: on a few hundred photos depend on the seed (README, "Train on your own photos").
    template_l1: float = field(0.0, low=0.0)
    #: L1 on each image's contributions: attributes that do not matter contribute
    #: nothing instead of carrying part of the bias (see the README).
    contribution_l1: float = field(0.0, low=0.0)
    #: "fixed": the weights above; "paper": the authors' rescaling of each term to
    #: the attribute loss, L_sun + 0.1 L_son (L_sun/L_son) + 0.001 L_T (L_sun/L_T).
    loss_weighting: str = "fixed"
    #: Epochs of a first stage on the attributes alone (0: none), then `epochs` joint.
    attribute_epochs: int = field(0, low=0)
    freeze_backbone_attribute_stage: bool = False
    freeze_backbone: bool = False
    #: Steps per epoch (with two datasets mixed, each step takes `batch_size` images of
    #: each); 0: one pass over the (larger) training split, and at least
    #: `min_steps_per_epoch`: a few hundred photos are a few steps a pass, too few to
    #: train on (`epochs` and `lr_decay_epochs` count these epochs).
    steps_per_epoch: int = field(0, low=0)
    min_steps_per_epoch: int = field(100, low=1)
    #: Batch-norm statistics recomputed over this many training batches (at most an
    #: epoch's) before each validation, so that the model validated and kept is the one
    #: trained; 0 keeps Keras' moving averages (`training.batch_norm`).
    batch_norm_batches: int = field(50, low=0)
    mixed_precision: bool = False
    seed: int = field(0, low=0, high=MAX_SEED)
    #: "none" (one device), "mirrored" (TensorFlow backend: tf.distribute.MirroredStrategy
    #: over the local GPUs) or "data_parallel" (JAX backend: keras.distribution.DataParallel
    #: over the devices JAX sees) or "multi_host" (JAX backend: data_parallel over every
    #: process of a job, `training.multi_host`); see docs/devices.md.
    distribution: str = "none"
    #: The devices to train on (empty: all): TensorFlow names for "mirrored" ("/gpu:0"),
    #: Keras' names for "data_parallel" ("gpu:0", as `keras.distribution.list_devices()`).
    devices: tuple[str, ...] = ()
    #: Also write the kept SIAM model as a keras-hub preset folder, `preset/` in the run
    #: folder (`SIAMModel.from_preset("runs/x/preset")` loads it; see docs/backbones.md).
    save_preset: bool = False
    augmentation: AugmentationConfig = dataclasses.field(default_factory=AugmentationConfig)

    def __post_init__(self):
        super().__post_init__()
        if self.devices and self.distribution == "none":
            raise ConfigError(f"train.devices is for train.distribution = \"mirrored\" or "
                              f"\"data_parallel\"; with \"none\" training uses one device. "
                              f"Received: devices={list(self.devices)}")
        if len(set(self.devices)) != len(self.devices):
            raise ConfigError(f"train.devices must name each device once. Received: "
                              f"{list(self.devices)}")


@dataclasses.dataclass(frozen=True)
class BaselineConfig(_Table):
    PATH = "baseline"
    enabled: bool = True
    epochs: int = field(12, low=1)


@dataclasses.dataclass(frozen=True)
class Config:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    baseline: BaselineConfig = dataclasses.field(default_factory=BaselineConfig)

    def __post_init__(self):
        _check_geometry(self)


SECTIONS = {f.name: f.type for f in dataclasses.fields(Config)}


def _check_geometry(config):
    """The model's feature grid fits the templates and the border, and the data fit in memory."""
    from siam_keras.runtime.feature_grid import BACKBONES, feature_grid_size
    from siam_keras.runtime.hub_presets import (
        HUB_EXTRA_MESSAGE,
        is_hub_backbone,
        keras_hub_installed,
        missing_preset_folder,
    )

    data, model = config.data, config.model
    if is_hub_backbone(model.backbone) and not keras_hub_installed():
        raise ConfigError(f"model.backbone = {model.backbone!r}: {HUB_EXTRA_MESSAGE}.")
    if is_hub_backbone(model.backbone) and missing_preset_folder(model.backbone):
        raise ConfigError(f"model.backbone: {missing_preset_folder(model.backbone)}")
    if model.backbone in BACKBONES:  # an unknown one is refused, with the choices, when built
        grid = feature_grid_size(model.backbone, data.image_size)
        where = f"the {grid} x {grid} feature grid of {model.backbone} at {data.image_size} px"
        if model.template_size > grid:
            raise ConfigError(f"model.template_size must be between 1 and {grid}, the side of "
                              f"{where} (a finer template only repeats cells). Received: "
                              f"{model.template_size}")
        if 2 * model.border_size >= grid:
            raise ConfigError(f"model.border_size must be between 0 and {(grid - 1) // 2} for "
                              f"{where} (it zeroes that many cells on each side). Received: "
                              f"{model.border_size}")
    if data.dataset == "synthetic_scenes":
        scenes = data.synthetic_scenes
        images = scenes.num_train + scenes.num_validation + scenes.num_test
        # Each image, its label map, and the copy tf.data makes: 8 bytes per pixel.
        needed = images * data.image_size**2 * 8
        available = _memory_bytes()
        if available and needed > MAX_MEMORY_SHARE * available:
            raise ConfigError(
                f"{images} synthetic_scenes images of {data.image_size} px (data.synthetic_scenes"
                ".num_train + num_validation + num_test, data.image_size) need about "
                f"{needed / 2**30:.1f} GiB of memory, more than half of this machine's "
                f"{available / 2**30:.1f} GiB. Lower data.image_size or the image counts.")


def _memory_bytes():
    """The machine's physical memory in bytes, or None where it cannot be read."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
