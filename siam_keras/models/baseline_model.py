"""`BaselineModel`: the unconstrained regressor SIAM is compared with."""

import keras

from siam_keras import vocabulary
from siam_keras.models.backbone_task import BackboneTask
from siam_keras.models.backbones import build_backbone
from siam_keras.models.dtype_policy import dtype_policy_scope
from siam_keras.runtime.output_kinds import classes_of, kinds_by_output


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
        output_kinds: {output: `OutputKind` or its JSON} (the outputs left out, and
            not in `output_classes`, are regression outputs).
        name: the model's name.
    """

    def __init__(self, backbone, output_names=vocabulary.PAPER_OUTPUTS, initial_biases=None,
                 output_classes=None, name="baseline", output_kinds=None, **kwargs):
        names = vocabulary.validate_output_names(output_names)
        kinds = kinds_by_output(names, output_kinds, output_classes)
        unknown = sorted(set(initial_biases or {}) - set(names))
        if unknown:
            raise ValueError(f"`initial_biases` names unknown outputs {unknown}. Outputs: "
                             f"{list(names)}")
        biases = {k: kinds[k].check_bias(k, v) for k, v in dict(initial_biases or {}).items()}
        pooling = keras.layers.GlobalAveragePooling2D(name="pool")

        def head(features):
            pooled = pooling(features)
            outputs = {}
            for output in names:
                labelled = kinds[output].labelled
                dense = keras.layers.Dense(
                    max(1, len(kinds[output].labels)), dtype="float32",
                    name=output if labelled else f"{output}_dense",
                    bias_initializer=keras.initializers.Constant(biases.get(output, 0.0)))(pooled)
                outputs[output] = (dense if labelled else
                                   keras.layers.Reshape((), dtype="float32", name=output)(dense))
            return outputs

        self.build_graph(backbone, head, name, **kwargs)
        # Not `output_names`: Keras' own attribute, set by `build_graph`.
        self.pooling, self._output_list, self.initial_biases = pooling, names, biases
        self.output_kinds = kinds

    @property
    def named_outputs(self):
        return tuple(self._output_list)

    @property
    def output_classes(self):
        """{output: class names} of the classification outputs."""
        return classes_of(self.output_kinds)

    @property
    def feature_layer(self):
        """The layer that reads the backbone's features (what CAM methods explain)."""
        return self.pooling

    def get_config(self):
        return {**self.part_configs(), "output_names": list(self._output_list),
                "initial_biases": dict(self.initial_biases),
                "output_kinds": {name: kind.to_json() for name, kind in self.output_kinds.items()
                                 if kind.labelled},
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
    output_kinds=None,
):
    """Builds a `BaselineModel` from flat arguments (as `build_siam_model` does)."""
    with dtype_policy_scope(dtype_policy):
        return BaselineModel(build_backbone(backbone, image_size, backbone_weights),
                             output_names, initial_biases, output_classes, name=name,
                             output_kinds=output_kinds)
