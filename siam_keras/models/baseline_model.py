"""`build_baseline_model`: the unconstrained regressor SIAM is compared with."""

import keras

from siam_keras import vocabulary
from siam_keras.models.backbones import build_backbone
from siam_keras.models.dtype_policy import dtype_policy_scope


def build_baseline_model(
    output_names=vocabulary.PAPER_OUTPUTS,
    backbone="small_cnn",
    image_size=64,
    backbone_weights=None,
    initial_biases=None,
    dtype_policy=None,
    name="baseline",
):
    """Same backbone, then global average pooling and one dense unit per output.

    No attribute maps, no templates: the black box that post-hoc explainers are
    applied to. Outputs are float32 (B,) tensors named as `output_names`.
    """
    output_names = vocabulary.validate_output_names(output_names)
    initial_biases = dict(initial_biases or {})
    with dtype_policy_scope(dtype_policy):
        features_model = build_backbone(backbone, image_size, backbone_weights)
        images = keras.Input((image_size, image_size, 3), name="image")
        pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features_model(images))
        outputs = {}
        for output in output_names:
            dense = keras.layers.Dense(
                1,
                dtype="float32",
                bias_initializer=keras.initializers.Constant(initial_biases.get(output, 0.0)),
                name=f"{output}_dense",
            )(pooled)
            outputs[output] = keras.layers.Reshape((), dtype="float32", name=output)(dense)
        return keras.Model(images, outputs, name=name)  # in the scope: see dtype_policy_scope
