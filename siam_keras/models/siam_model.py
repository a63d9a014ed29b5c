"""`build_siam_model`: pixels -> backbone -> `SIAMLayer` -> a dict of named outputs."""

import keras

from siam_keras import vocabulary
from siam_keras.layers.siam_layer import (
    DEFAULT_BORDER_SIZE,
    DEFAULT_NUM_TEMPLATES,
    DEFAULT_TEMPLATE_SIZE,
    SIAMLayer,
)
from siam_keras.models.backbones import build_backbone
from siam_keras.models.dtype_policy import dtype_policy_scope


def build_siam_model(
    attribute_names,
    output_names=vocabulary.PAPER_OUTPUTS,
    backbone="small_cnn",
    image_size=64,
    backbone_weights=None,
    head="templates",
    num_templates=DEFAULT_NUM_TEMPLATES,
    template_size=DEFAULT_TEMPLATE_SIZE,
    border_size=DEFAULT_BORDER_SIZE,
    initial_biases=None,
    template_l1=0.0,
    contribution_l1=0.0,
    dtype_policy=None,
    name="siam",
):
    """Builds a SIAM model taking raw RGB pixels and returning a dict.

    Args:
        attribute_names: list of K attribute names, or K.
        output_names: names of the outputs, default `("scenicness", "scenicness_variance")`.
        backbone: one of `siam_keras.models.BACKBONES`.
        image_size: input side in pixels (the model takes S x S x 3 in [0, 255]).
        backbone_weights: None, a local weights file, or "imagenet" (needs network).
        head, num_templates, template_size, border_size, initial_biases: see
            `SIAMLayer`.
        template_l1: L1 penalty on the templates (0 for none).
        contribution_l1: L1 penalty on the contributions, per image (0 for none):
            attributes that do not matter then contribute nothing.
        dtype_policy: e.g. "mixed_float16" (GPU) or "mixed_bfloat16"; None keeps
            the global policy. The head's outputs are float32 under any policy.
        name: the model's name.

    Returns:
        A functional `keras.Model` with input `image` (B, S, S, 3) and outputs
        `attribute_maps`, `attribute_scores`, each output and each
        `<output>_contributions` (see `SIAMLayer`).
    """
    with dtype_policy_scope(dtype_policy):
        features_model = build_backbone(backbone, image_size, backbone_weights)
        head_layer = SIAMLayer(
            attribute_names,
            output_names=output_names,
            head=head,
            num_templates=num_templates,
            template_size=template_size,
            border_size=border_size,
            initial_biases=initial_biases,
            template_regularizer=keras.regularizers.L1(template_l1) if template_l1 else None,
            contribution_regularizer=(
                keras.regularizers.L1(contribution_l1) if contribution_l1 else None
            ),
            name="siam_head",
        )
        images = keras.Input((image_size, image_size, 3), name="image")
        outputs = head_layer(features_model(images))
        return keras.Model(images, outputs, name=name)  # in the scope: see dtype_policy_scope


def get_siam_layer(model):
    """Returns the `SIAMLayer` of a SIAM model; raises if it has none."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, SIAMLayer):
            return layer
    raise ValueError(
        f"Model {model.name!r} has no SIAMLayer: it is not a SIAM model "
        "(an unconstrained baseline, perhaps)."
    )
