"""`SIAMModel`: pixels -> backbone -> `SIAMLayer` -> a dict of named outputs."""

import os

import keras

from siam_keras import vocabulary
from siam_keras.layers.siam_layer import SIAMLayer
from siam_keras.models.backbone_task import BackboneTask
from siam_keras.models.backbones import build_backbone
from siam_keras.models.dtype_policy import dtype_policy_scope
from siam_keras.models.preset_files import load_from_preset, save_to_preset
from siam_keras.models.presets import PRESETS, preset_arguments
from siam_keras.runtime.hub_presets import is_local_path, is_remote


@keras.saving.register_keras_serializable(package="siam_keras")
class SIAMModel(BackboneTask, keras.Model):
    """A SIAM model: raw RGB pixels -> backbone -> `SIAMLayer` -> named outputs.

    Built like keras-hub's task models (`BackboneTask`): the parts are attributes
    (`backbone`, `siam_head`), the config holds them serialised, and `from_preset`
    builds a named configuration. The model is functional, built under its layers'
    dtype policy (so a `mixed_float16` model compiles a `LossScaleOptimizer`).

    Args:
        backbone: a `keras.Model` from raw RGB pixels (B, S, S, 3) in [0, 255] to
            features (B, h, w, C) (`siam_keras.models.build_backbone`).
        siam_head: the `SIAMLayer` on those features.
        name: the model's name.

    Call arguments:
        images: (B, S, S, 3) raw RGB pixels.

    Returns:
        A dict of float32 tensors: `attribute_maps` (B, h, w, K), `attribute_scores`
        (B, K), each output (B,) and each `<output>_contributions` (B, K); a
        labelled output (e.g. classification) gives (B, C) logits and (B, K, C)
        contributions.

    Example:
    >>> model = build_siam_model(["trees", "water"], ["scenicness"], image_size=64,
    ...                          template_size=8, border_size=0)
    >>> model.attribute_names, model.named_outputs, model.image_size
    (('trees', 'water'), ('scenicness',), (64, 64))
    >>> SIAMModel.from_preset("siam_paper", backbone_weights=None)   # ResNet-50, 450 px
    """

    PARTS = ("backbone", "siam_head")

    def __init__(self, backbone, siam_head, name="siam", **kwargs):
        if not isinstance(siam_head, SIAMLayer):
            raise TypeError(f"`siam_head` must be a SIAMLayer. Received: {siam_head!r}")
        self.build_graph(backbone, siam_head, name, **kwargs)
        self.siam_head = siam_head

    @property
    def attribute_names(self):
        return tuple(self.siam_head.attribute_names)

    @property
    def named_outputs(self):
        """The named outputs (e.g. `scenicness`); Keras' `output_names` lists every
        output key (maps, scores and contributions too)."""
        return tuple(self.siam_head.output_names)

    @property
    def output_classes(self):
        """{output: class names} of the classification outputs."""
        return dict(self.siam_head.output_classes)

    @property
    def output_kinds(self):
        """{output: OutputKind} (`siam_keras.runtime.output_kinds`)."""
        return dict(self.siam_head.output_kinds)

    @property
    def feature_layer(self):
        """The layer that reads the backbone's features (what CAM methods explain)."""
        return self.siam_head

    def sidecar(self):
        """The model's `ModelSidecar` (`siam_keras.runtime.sidecar`): names, each output's
        kind, the input size and the head's weights. An export adds its TFLite variants,
        signatures and versions; a preset's `metadata.json` holds the rest."""
        from siam_keras.runtime.decomposition import HeadWeights
        from siam_keras.runtime.sidecar import ModelSidecar

        head = self.siam_head
        return ModelSidecar(name=self.name, attribute_names=tuple(head.attribute_names),
                            output_names=tuple(head.output_names), image_size=self.image_size,
                            head=HeadWeights.from_layer(head))

    def get_config(self):
        return {**self.part_configs(), "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_preset(cls, preset, **overrides):
        """A preset's model: a named configuration (`siam_keras.models.PRESETS`, e.g.
        `"siam_paper"`, built with random or ImageNet weights; the overrides are
        `build_siam_model` arguments), or a trained model shared as a keras-hub preset
        (a folder written by `save_to_preset`, or a `kaggle://` / `hf://` handle)."""
        if isinstance(preset, str) and preset in PRESETS:
            return build_siam_model(**preset_arguments(preset, **overrides))
        if overrides:
            raise ValueError(f"A saved preset is loaded as it was trained: it takes no "
                             f"overrides. Received: {sorted(overrides)}")
        handle = os.fspath(preset)
        if not is_remote(handle) and not os.path.isdir(os.path.expanduser(handle)):
            if is_local_path(handle):
                raise FileNotFoundError(f"Preset folder not found: {handle!r}. Pass a folder "
                                        "written by save_to_preset.")
            raise ValueError(f"Unknown preset {handle!r}: neither a named configuration (one "
                             f"of {', '.join(PRESETS)}) nor a preset folder (from "
                             "save_to_preset) nor a kaggle:// or hf:// handle.")
        return load_from_preset(handle)

    def save_to_preset(self, preset_dir):
        """Writes this model as a keras-hub preset folder (`config.json`,
        `model.weights.h5`, `metadata.json` with the names, classes and head the
        export's sidecar gives); returns its path. `from_preset(path)` loads it."""
        return save_to_preset(self, preset_dir)


def build_siam_model(
    attribute_names,
    output_names=vocabulary.PAPER_OUTPUTS,
    backbone="small_cnn",
    image_size=64,
    backbone_weights=None,
    *,
    template_l1=0.0,
    contribution_l1=0.0,
    dtype_policy=None,
    name="siam",
    **head_arguments,
):
    """Builds a `SIAMModel` from flat arguments.

    Args:
        attribute_names: list of K attribute names, or K.
        output_names: names of the outputs, default `("scenicness", "scenicness_variance")`.
        backbone: one of `siam_keras.models.BACKBONES`, or `"hub:<preset>"` (a keras-hub
            image backbone: docs/backbones.md).
        image_size: input side in pixels (the model takes S x S x 3 in [0, 255]).
        backbone_weights: None, a local weights file, or "imagenet" (needs network);
            "preset" for a `hub:` backbone (the preset's weights).
        template_l1: L1 penalty on the templates (0 for none).
        contribution_l1: L1 penalty on the contributions, per image (0 for none):
            attributes that do not matter then contribute nothing.
        dtype_policy: e.g. "mixed_float16" (GPU) or "mixed_bfloat16"; None keeps
            the global policy. The head's outputs are float32 under any policy.
        name: the model's name.
        **head_arguments: the `SIAMLayer`'s own (`head`, `num_templates`,
            `template_size`, `border_size`, `initial_biases`, `output_kinds`,
            `output_classes`, `class_templates`, ...), passed on unchanged.
    """
    with dtype_policy_scope(dtype_policy):
        features_model = build_backbone(backbone, image_size, backbone_weights)
        head_layer = SIAMLayer(
            attribute_names,
            output_names=output_names,
            template_regularizer=keras.regularizers.L1(template_l1) if template_l1 else None,
            contribution_regularizer=(
                keras.regularizers.L1(contribution_l1) if contribution_l1 else None
            ),
            name="siam_head",
            **head_arguments,
        )
        return SIAMModel(features_model, head_layer, name=name)


def get_siam_layer(model):
    """The `SIAMLayer` of a `SIAMModel`; raises ValueError for any other model."""
    if not isinstance(model, SIAMModel):
        raise ValueError(
            f"Model {model.name!r} is a {type(model).__name__}, not a SIAMModel: it has no "
            "SIAM head (an unconstrained baseline, or a .keras file saved before siam-keras "
            "0.2, which has to be trained again)."
        )
    return model.siam_head


def build_siam_model_from_preset(name, **overrides):
    """Builds a preset's model: `SIAMModel.from_preset(name, **overrides)`."""
    return SIAMModel.from_preset(name, **overrides)
