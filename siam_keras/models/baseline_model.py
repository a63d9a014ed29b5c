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
    applied to. Outputs are float32 (B,) tensors named as `output_names`; a
    classification output gives (B, C) logits.

    Args:
        backbone: a `keras.Model` from raw RGB pixels (B, S, S, 3) to features.
        output_names: the outputs, e.g. `("scenicness", "scenicness_variance")`.
        initial_biases: {output: initial bias} (the label means; C values for a
            classification output); others start at 0.
        output_classes: {output: class names} of the classification outputs.
        name: the model's name.
    """

    def __init__(self, backbone, output_names=vocabulary.PAPER_OUTPUTS, initial_biases=None,
                 output_classes=None, name="baseline", **kwargs):
        names = vocabulary.validate_output_names(output_names)
        classes = {k: list(v) for k, v in dict(output_classes or {}).items()}
        biases = {k: (list(map(float, v)) if k in classes else float(v))
                  for k, v in dict(initial_biases or {}).items()}
        unknown = sorted((set(biases) | set(classes)) - set(names))
        if unknown:
            raise ValueError(f"`initial_biases` or `output_classes` name unknown outputs "
                             f"{unknown}. Outputs: {list(names)}")
        pooling = keras.layers.GlobalAveragePooling2D(name="pool")

        def head(features):
            pooled = pooling(features)
            outputs = {}
            for output in names:
                units = len(classes.get(output, [None]))
                dense = keras.layers.Dense(
                    units, dtype="float32", name=f"{output}_dense" if units == 1 else output,
                    bias_initializer=keras.initializers.Constant(biases.get(output, 0.0)))(pooled)
                outputs[output] = (dense if output in classes else
                                   keras.layers.Reshape((), dtype="float32", name=output)(dense))
            return outputs

        self.build_graph(backbone, head, name, **kwargs)
        # Not `output_names`: Keras' own attribute of that name lists the output layers.
        self.pooling, self._output_list, self.initial_biases = pooling, names, biases
        self.output_classes = {k: tuple(v) for k, v in classes.items()}

    @property
    def named_outputs(self):
        return tuple(self._output_list)

    @property
    def feature_layer(self):
        """The layer that reads the backbone's features (what CAM methods explain)."""
        return self.pooling

    def get_config(self):
        return {**self.part_configs(), "output_names": list(self._output_list),
                "initial_biases": dict(self.initial_biases),
                "output_classes": {k: list(v) for k, v in self.output_classes.items()},
                "name": self.name,
                "trainable": self.trainable}


def build_baseline_model(
    output_names=vocabulary.PAPER_OUTPUTS,
    backbone="small_cnn",
    image_size=64,
    backbone_weights=None,
    initial_biases=None,
    output_classes=None,
    dtype_policy=None,
    name="baseline",
):
    """Builds a `BaselineModel` from flat arguments (as `build_siam_model` does)."""
    with dtype_policy_scope(dtype_policy):
        return BaselineModel(build_backbone(backbone, image_size, backbone_weights),
                             output_names, initial_biases, output_classes, name=name)
