"""keras-hub image backbones (`"hub:<preset>"`) as SIAM backbones: pixels in, a grid out.

A keras-hub preset (a Kaggle or Hugging Face handle, or a local folder written by
`save_to_preset`) holds a backbone's config, its weights and usually its image
converter. `build_hub_backbone` builds that backbone at the model's input side and
wraps it so that it takes raw RGB pixels in [0, 255] like every other backbone:

- the converter's `scale` and `offset` run inside the model (`ImagePreprocessing`
  "affine"); its resizing does not (siam-keras resizes photos to `image_size` itself);
- a ViT-style backbone's tokens (B, N, C) become the patch grid (B, h, w, C): the
  leading class and register tokens are dropped (`TokenGrid`);
- the grid's side is read from the built network, not from a table.

keras-hub is optional (`pip install 'siam-keras[hub]'`); it is imported only here.
"""

import math
import os

import keras
from keras import ops

from siam_keras.models.backbone_weights import load_backbone_weights
from siam_keras.models.image_preprocessing import ImagePreprocessing
from siam_keras.runtime.feature_grid import HUB_EXTRA_MESSAGE, HUB_PREFIX

#: `backbone_weights` of a hub backbone that loads the preset's own weights.
PRESET_WEIGHTS = "preset"


def import_keras_hub():
    """keras_hub, or an ImportError that says how to install it."""
    try:
        import keras_hub
    except ImportError as error:
        raise ImportError(f"{HUB_EXTRA_MESSAGE}. ({error})") from None
    return keras_hub


@keras.saving.register_keras_serializable(package="siam_keras")
class TokenGrid(keras.layers.Layer):
    """(B, leading + h * w, C) tokens to the (B, h, w, C) grid of their patches.

    Drops the `leading` tokens (a ViT's class token, DINOv2's class and register
    tokens) and lays the rest out row by row, as patch embeddings are ordered.
    """

    def __init__(self, leading, height, width, **kwargs):
        super().__init__(**kwargs)
        self.leading, self.height, self.width = int(leading), int(height), int(width)

    def call(self, tokens):
        patches = tokens[:, self.leading:, :]
        return ops.reshape(patches, (-1, self.height, self.width, ops.shape(tokens)[-1]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "leading": self.leading, "height": self.height,
                "width": self.width}


def preset_handle(backbone):
    """The preset handle of a `"hub:<preset>"` backbone name."""
    handle = backbone[len(HUB_PREFIX):].strip()
    if not handle:
        raise ValueError(f"A hub backbone names its keras-hub preset: 'hub:<preset>', e.g. "
                         f"'hub:resnet_50_imagenet' or 'hub:/path/to/preset'. Received: "
                         f"{backbone!r}")
    return handle


def build_hub_backbone(backbone, image_size, weights=None):
    """Returns a model from raw RGB pixels (B, S, S, 3) in [0, 255] to a feature grid.

    Args:
        backbone: `"hub:<preset>"`: a keras-hub preset name, `kaggle://...`,
            `hf://...` or a local preset folder.
        image_size: input side in pixels.
        weights: None (random, from the preset's config alone), `"preset"` (the
            preset's weights; downloads a remote preset) or a local weights file.
    """
    keras_hub = import_keras_hub()
    handle = preset_handle(backbone)
    local = "://" not in handle and (os.sep in handle or handle.startswith("."))
    if local and not os.path.isdir(handle):
        raise FileNotFoundError(f"keras-hub preset folder not found: {handle!r} (from backbone "
                                f"{backbone!r}). Pass a folder holding config.json, or a preset "
                                "name such as 'hub:resnet_50_imagenet'.")
    network = _load_network(keras_hub, handle, image_size, weights == PRESET_WEIGHTS)
    if weights not in (None, PRESET_WEIGHTS):
        load_backbone_weights(network, weights, backbone)
    images = keras.Input((image_size, image_size, 3), name="image")
    pixels = ImagePreprocessing(**_converter_arguments(keras_hub, handle))(images)
    inputs = network.input
    if isinstance(inputs, dict) and len(inputs) != 1:
        raise ValueError(f"The keras-hub backbone {handle!r} takes several inputs "
                         f"({sorted(inputs)}), not images alone.")
    features = network({key: pixels for key in inputs} if isinstance(inputs, dict) else pixels)
    shape = getattr(features, "shape", None)
    if shape is not None and len(shape) == 3:
        features = _token_grid(network, features, image_size)(features)
    if shape is None or len(features.shape) != 4:
        given = keras.tree.map_structure(lambda tensor: tuple(tensor.shape), features)
        raise ValueError(f"The keras-hub backbone {handle!r} gives {given}, not one feature "
                         "grid (batch, h, w, channels) or tokens (batch, n, channels).")
    return keras.Model(images, features, name="hub_backbone")


def _load_network(keras_hub, handle, image_size, load_weights):
    load = keras_hub.models.Backbone.from_preset
    try:
        try:
            return load(handle, load_weights=load_weights,
                        image_shape=(image_size, image_size, 3))
        except TypeError as error:  # a backbone without an image_shape argument
            if "image_shape" not in str(error):
                raise
            return load(handle, load_weights=load_weights)
    except (ValueError, OSError, KeyError) as error:
        where = ("" if os.path.isdir(handle) else " (a named or remote preset is downloaded: "
                 "this needs network access; or pass a local preset folder)")
        raise ValueError(f"Could not build the keras-hub backbone {handle!r}{where}: "
                         f"{error}") from None


def _converter_arguments(keras_hub, handle):
    """The `ImagePreprocessing` arguments of the preset's image converter (none: pixels
    pass through unchanged)."""
    try:
        converter = keras_hub.layers.ImageConverter.from_preset(handle)
    except (ValueError, OSError, KeyError):  # the preset declares no image converter
        return {"mode": "none"}
    return {"mode": "affine", "scale": converter.scale, "offset": converter.offset}


def _token_grid(network, tokens, image_size):
    """The `TokenGrid` of a ViT-style backbone: its patch size gives the grid; without
    one, the largest square grid that the tokens hold."""
    count = tokens.shape[1]
    patch = getattr(network, "patch_size", None)
    if patch is not None:
        ph, pw = (patch, patch) if isinstance(patch, int) else tuple(patch)
        height, width = image_size // ph, image_size // pw
    else:
        height = width = math.isqrt(count)
    leading = count - height * width
    if leading < 0:
        raise ValueError(f"The keras-hub backbone {network.name!r} gives {count} tokens, fewer "
                         f"than its {height} x {width} patches at {image_size} px.")
    return TokenGrid(leading, height, width, name="token_grid")
