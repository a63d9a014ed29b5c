"""`BaselineModel`: the unconstrained regressor SIAM is compared with."""

import keras

from siam_keras import vocabulary
from siam_keras.models.backbone_task import BackboneTask
from siam_keras.models.backbones import build_backbone
from siam_keras.models.dtype_policy import dtype_policy_scope


@keras.saving.register_keras_serializable(package="siam_keras")
class BaselineModel(BackboneTask, keras.Model):
    """The same backbone, then global average pooling and one dense unit per output.

    No attribute maps, no templates: the black box that post-hoc explainers are
    applied to. Outputs are float32 (B,) tensors named as `output_names`.

    Args:
        backbone: a `keras.Model` from raw RGB pixels (B, S, S, 3) to features.
        output_names: the outputs, e.g. `("scenicness", "scenicness_variance")`.
        initial_biases: {output: initial bias} (the label means); others start at 0.
        name: the model's name.
    """

    def __init__(self, backbone, output_names=vocabulary.PAPER_OUTPUTS, initial_biases=None,
                 name="baseline", **kwargs):
        names = vocabulary.validate_output_names(output_names)
        biases = {k: float(v) for k, v in dict(initial_biases or {}).items()}
        unknown = sorted(set(biases) - set(names))
        if unknown:
            raise ValueError(f"`initial_biases` names unknown outputs {unknown}. Outputs: "
                             f"{list(names)}")
        pooling = keras.layers.GlobalAveragePooling2D(name="pool")

        def head(features):
            pooled = pooling(features)
            outputs = {}
            for output in names:
                dense = keras.layers.Dense(
                    1, dtype="float32", name=f"{output}_dense",
                    bias_initializer=keras.initializers.Constant(biases.get(output, 0.0)))(pooled)
                outputs[output] = keras.layers.Reshape((), dtype="float32", name=output)(dense)
            return outputs

        self.build_graph(backbone, head, name, **kwargs)
        # Not `output_names`: Keras' own attribute of that name lists the output layers.
        self.pooling, self._output_list, self.initial_biases = pooling, names, biases

    @property
    def named_outputs(self):
        return tuple(self._output_list)

    @property
    def feature_layer(self):
        """The layer that reads the backbone's features (what CAM methods explain)."""
        return self.pooling

    def get_config(self):
        return {**self.part_configs(), "output_names": list(self._output_list),
                "initial_biases": dict(self.initial_biases), "name": self.name,
                "trainable": self.trainable}


def build_baseline_model(
    output_names=vocabulary.PAPER_OUTPUTS,
    backbone="small_cnn",
    image_size=64,
    backbone_weights=None,
    initial_biases=None,
    dtype_policy=None,
    name="baseline",
):
    """Builds a `BaselineModel` from flat arguments (as `build_siam_model` does)."""
    with dtype_policy_scope(dtype_policy):
        return BaselineModel(build_backbone(backbone, image_size, backbone_weights),
                             output_names, initial_biases, name=name)
