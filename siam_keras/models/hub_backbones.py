"""keras-hub image backbones (`"hub:<preset>"`) as SIAM backbones: pixels in, a grid out.

A keras-hub preset (a name, a `kaggle://` or `hf://` handle, or a local folder written
by keras-hub's `Backbone.save_to_preset`) holds a backbone's config, its weights and
usually its image converter. `build_hub_backbone` builds that backbone at the model's
input side and wraps it so that it takes raw RGB pixels in [0, 255] like every other
backbone:

- the converter's `scale` and `offset` run inside the model (`ImagePreprocessing`
  "affine"); its resizing does not (siam-keras resizes photos to `image_size` itself);
- a ViT-style backbone's tokens (B, N, C) become the patch grid (B, h, w, C): the
  leading class and register tokens are dropped (`TokenGrid`);
- the grid's side is read from the built network, not from a table;
- learned position embeddings that keras-hub interpolates (DINOv2) are not trained:
  keras-hub writes trained ones back at the preset's size, lossily, and a saved model
  would then not be the trained one.

keras-hub is optional (`pip install 'siam-keras[hub]'`); it is imported only here. The
preset helpers used (`keras_hub.src.utils.preset_utils`) are keras-hub's own internals,
pinned with the extra (`keras-hub>=0.32,<0.33`).
"""

import inspect
import os

import keras

from siam_keras.layers.token_grid import TokenGrid
from siam_keras.models.backbone_weights import load_backbone_weights
from siam_keras.models.image_preprocessing import ImagePreprocessing
from siam_keras.models.nested_layers import nested_layers
from siam_keras.runtime.hub_presets import HUB_EXTRA_MESSAGE, HUB_PREFIX, missing_preset_folder

#: `backbone_weights` of a hub backbone that loads the preset's own weights.
PRESET_WEIGHTS = "preset"


def import_keras_hub():
    """keras_hub; an ImportError that says how to install it, or why it failed to load."""
    try:
        import keras_hub
    except ModuleNotFoundError as error:
        if error.name not in ("keras_hub", None):
            raise ImportError(f"keras-hub is installed but failed to import: {error}") from error
        raise ImportError(f"{HUB_EXTRA_MESSAGE}.") from error
    except ImportError as error:  # a dependency that is there but broken
        raise ImportError(f"keras-hub is installed but failed to import: {error}") from error
    return keras_hub


def preset_handle(backbone):
    """The preset handle of a `"hub:<preset>"` backbone name."""
    handle = backbone[len(HUB_PREFIX):].strip()
    if not handle:
        raise ValueError(f"A hub backbone names its keras-hub preset: 'hub:<preset>', e.g. "
                         f"'hub:resnet_50_imagenet' or 'hub:/path/to/preset'. Received: "
                         f"{backbone!r}")
    return os.path.expanduser(handle)


def build_hub_backbone(backbone, image_size, weights=None):
    """Returns a model from raw RGB pixels (B, S, S, 3) in [0, 255] to a feature grid.

    Args:
        backbone: `"hub:<preset>"`: a keras-hub preset name, `kaggle://...`,
            `hf://...` or a local preset folder.
        image_size: input side in pixels.
        weights: None (random, from the preset's config alone), `"preset"` (the
            preset's weights; downloads a remote preset) or a local weights file.
    """
    try:
        keras_hub = import_keras_hub()
    except ImportError as error:
        raise ImportError(f"The backbone {backbone!r} needs keras-hub: {error}") from error
    handle = preset_handle(backbone)
    missing = missing_preset_folder(backbone)
    if missing:
        raise FileNotFoundError(missing)
    network = _load_network(keras_hub, handle, image_size, weights == PRESET_WEIGHTS)
    if weights not in (None, PRESET_WEIGHTS):
        load_backbone_weights(network, weights, backbone)
    _keep_interpolated_position_embeddings(network)
    images = keras.Input((image_size, image_size, 3), name="image")
    pixels = ImagePreprocessing(**_converter_arguments(keras_hub, handle))(images)
    features = network(_network_inputs(network, handle, pixels))
    shape = getattr(features, "shape", None)
    if shape is not None and len(shape) == 3:
        features = _token_grid(network, handle, shape, image_size)(features)
    if shape is None or len(features.shape) != 4:
        given = keras.tree.map_structure(lambda tensor: tuple(tensor.shape), features)
        raise ValueError(f"The keras-hub backbone {handle!r} gives {given}, not one feature "
                         "grid (batch, h, w, channels) or tokens (batch, n, channels): use an "
                         "image backbone (for CLIP or SigLIP, their vision encoder alone).")
    return keras.Model(images, features, name="hub_backbone")


def _load_network(keras_hub, handle, image_size, load_weights):
    """The preset's backbone built at `image_size` (if its class takes `image_shape`)."""
    from keras_hub.src.utils.preset_utils import get_preset_loader

    try:
        backbone_class = get_preset_loader(handle).check_backbone_class()
    except OSError as error:
        raise ValueError(f"Could not read the keras-hub preset {handle!r} (a named or remote "
                         "preset is downloaded: this needs network access, or pass a local "
                         f"preset folder): {error}") from error
    except (ValueError, KeyError) as error:
        raise ValueError(f"{handle!r} is not a keras-hub preset keras-hub can read: "
                         f"{error}") from error
    sized = {}
    if "image_shape" in inspect.signature(backbone_class.__init__).parameters:
        sized = {"image_shape": (image_size, image_size, 3)}
    try:
        return keras_hub.models.Backbone.from_preset(handle, load_weights=load_weights, **sized)
    except OSError as error:
        raise ValueError(f"Could not load the keras-hub preset {handle!r} (a remote preset "
                         f"needs network access): {error}") from error
    except (ValueError, TypeError) as error:
        raise ValueError(f"The keras-hub backbone {handle!r} cannot be built at {image_size} px "
                         f"(data.image_size): {error}") from error


def _network_inputs(network, handle, pixels):
    """`pixels` in the structure the network takes: a tensor, or a dict of one."""
    inputs = network.input
    if isinstance(inputs, dict) and len(inputs) == 1:
        return {key: pixels for key in inputs}
    if isinstance(inputs, (dict, list, tuple)):
        names = sorted(inputs) if isinstance(inputs, dict) else len(inputs)
        raise ValueError(f"The keras-hub backbone {handle!r} takes several inputs ({names}), "
                         "not images alone: use an image backbone.")
    return pixels


def _converter_arguments(keras_hub, handle):
    """The `ImagePreprocessing` arguments of the preset's image converter; a preset that
    declares none gets the pixels unchanged."""
    try:
        converter = keras_hub.layers.ImageConverter.from_preset(handle)
    except FileNotFoundError:  # no image_converter.json: the preset declares none
        return {"mode": "none"}
    except (ValueError, OSError, KeyError, TypeError) as error:
        raise ValueError(f"The image converter of the keras-hub preset {handle!r} could not be "
                         f"read: {error}") from error
    if converter is None:
        return {"mode": "none"}
    return {"mode": "affine", "scale": converter.scale, "offset": converter.offset}


def _token_grid(network, handle, shape, image_size):
    """The `TokenGrid` of a ViT-style backbone: its patch size gives the grid, and its
    class and register tokens the tokens before the patches."""
    patch = getattr(network, "patch_size", None)
    if patch is None or shape[1] is None:
        raise ValueError(f"The keras-hub backbone {handle!r} gives tokens {tuple(shape)} but no "
                         "patch_size and token count to lay them on a grid: use a backbone "
                         "that gives a feature grid, or a ViT-style one with a patch_size.")
    ph, pw = (patch, patch) if isinstance(patch, int) else tuple(patch)
    height, width = image_size // ph, image_size // pw
    expected = int(getattr(network, "use_class_token", True)) + int(
        getattr(network, "num_register_tokens", 0))
    if shape[1] - height * width != expected:
        raise ValueError(f"The keras-hub backbone {handle!r} gives {shape[1]} tokens at "
                         f"{image_size} px: not its {height} x {width} patches and {expected} "
                         "class and register tokens. Use an image size that is a multiple of "
                         f"the patch size ({ph}).")
    return TokenGrid(expected, height, width, name="token_grid")


def _keep_interpolated_position_embeddings(network):
    """Position embeddings keras-hub interpolates to the input size (DINOv2) stay as the
    preset's: keras-hub saves trained ones re-interpolated to the preset's size, and
    tests only a signed sum to see that they changed."""
    for layer in nested_layers(network):
        variable = getattr(layer, "interpolated_position_embeddings", None)
        if variable is not None:
            variable.trainable = False
