"""`BackboneTask`: what SIAM and baseline models share, as keras-hub's `Task` does."""

import copy

import keras

from siam_keras.models.dtype_policy import dtype_policy_scope, model_policy


def checked_backbone(backbone):
    """`backbone` if it is a Keras model from (B, H, W, 3) pixels to a (B, h, w, C) grid."""
    if not isinstance(backbone, keras.Model):
        raise TypeError(f"`backbone` must be a keras.Model. Received: {backbone!r}")
    if len(backbone.input_shape) != 4 or backbone.input_shape[-1] != 3 or len(
            backbone.output_shape) != 4:
        raise ValueError(
            "`backbone` must take (batch, height, width, 3) pixels and return a (batch, h, w, "
            f"channels) grid. Received: input {backbone.input_shape}, output "
            f"{backbone.output_shape}")
    return backbone


class BackboneTask:
    """What a functional model of a backbone and a head shares, with its parts in its config.

    A mixin before `keras.Model` (`class SIAMModel(BackboneTask, keras.Model)`: Keras
    makes a model functional by swapping `keras.Model` among the bases, which a base
    class between them would hide). A subclass builds its graph in `__init__` with
    `build_graph(backbone, head_fn, name)`, keeps its layers as attributes, and names
    in `PARTS` the config entries that are layers (serialised by `part_configs`,
    deserialised by `from_config`).
    """

    #: Config entries that hold layers.
    PARTS = ("backbone",)

    def build_graph(self, backbone, head, name, **kwargs):
        """Builds `head(backbone(image))` under the backbone's dtype policy: a functional
        model takes the global policy when it is built, and compiles a LossScaleOptimizer
        only if that policy is mixed_float16."""
        backbone = checked_backbone(backbone)
        with dtype_policy_scope(model_policy(backbone)):
            images = keras.Input(backbone.input_shape[1:], name="image")
            outputs = head(backbone(images))
            super().__init__(inputs=images, outputs=outputs, name=name, **kwargs)
        self.backbone = backbone
        # Keras names each output by the layer that made it: a head returning a dict
        # gives ['siam_head'] x 4. Name them by their keys, in Keras' flat order, so
        # losses, metrics and summaries keyed by `output_names` find them.
        self.output_names = keras.tree.flatten({key: key for key in outputs})

    @property
    def image_size(self):
        """(height, width) of the input."""
        return tuple(int(d) for d in self.input_shape[1:3])

    def part_configs(self):
        """The config entries of `PARTS`, serialised."""
        return {part: keras.layers.serialize(getattr(self, part)) for part in self.PARTS}

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)  # deserialising consumes the nested configs
        for part in cls.PARTS:
            config[part] = keras.layers.deserialize(config[part])
        return cls(**config)
