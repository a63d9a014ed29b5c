"""Backbones: raw RGB pixels (0-255) in, a (B, H, W, C) feature grid out."""

import math
import os

import keras

from siam_keras.models.image_preprocessing import ImagePreprocessing

BACKBONES = (
    "small_cnn",
    "resnet50",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_v2_b0",
)

#: Channels and strides of the small CNN's three stages (two 3x3 convolutions each).
#: Output stride 4: a 64 px image gives a 16 x 16 grid, cells of 6% of the side like
#: the paper's 15 x 15 grid on 450 px (stride 8 gave 8 x 8 and maps too coarse to
#: point inside small objects: pointing game 0.81 against 0.92 on the demo).
SMALL_CNN_FILTERS = (16, 32, 64)
SMALL_CNN_STRIDES = (2, 2, 1)


def resolve_weights(backbone, weights):
    """Checks a backbone weights argument: None, "imagenet", or an existing file."""
    if weights is None:
        return None
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            "`backbone_weights` must be None, 'imagenet' or a file path. "
            f"Received: {weights!r} of type {type(weights).__name__}"
        )
    weights = os.fspath(weights)
    if weights == "imagenet":
        if backbone == "small_cnn":
            raise ValueError(
                "The 'small_cnn' backbone has no ImageNet weights: use None or a weights "
                "file saved from a small_cnn backbone."
            )
        return weights
    if not os.path.isfile(weights):
        raise FileNotFoundError(
            f"Backbone weights file not found: {weights!r}. Pass an existing .h5 / "
            ".weights.h5 file, 'imagenet' (needs network access), or None."
        )
    return weights


def _small_cnn(image_size, weights):
    images = keras.Input((image_size, image_size, 3), name="image")
    x = ImagePreprocessing("unit")(images)
    for stage, (filters, stride) in enumerate(zip(SMALL_CNN_FILTERS, SMALL_CNN_STRIDES)):
        for step, strides in enumerate((stride, 1)):
            prefix = f"stage{stage + 1}_conv{step + 1}"
            x = keras.layers.Conv2D(
                filters, 3, strides=strides, padding="same", use_bias=False, name=prefix
            )(x)
            x = keras.layers.BatchNormalization(name=f"{prefix}_bn")(x)
            x = keras.layers.ReLU(name=f"{prefix}_relu")(x)
    model = keras.Model(images, x, name="small_cnn")
    if weights is not None:
        model.load_weights(weights)
    return model


def _application(backbone, image_size, weights):
    apps = keras.applications
    shape = (image_size, image_size, 3)
    if backbone == "resnet50":
        net = apps.ResNet50(include_top=False, weights=weights, input_shape=shape)
        mode = "caffe"
    elif backbone == "mobilenet_v3_small":
        net = apps.MobileNetV3Small(
            input_shape=shape, include_top=False, weights=weights, include_preprocessing=True
        )
        mode = "none"
    elif backbone == "mobilenet_v3_large":
        net = apps.MobileNetV3Large(
            input_shape=shape, include_top=False, weights=weights, include_preprocessing=True
        )
        mode = "none"
    else:
        net = apps.EfficientNetV2B0(
            include_top=False, weights=weights, input_shape=shape, include_preprocessing=True
        )
        mode = "none"
    images = keras.Input(shape, name="image")
    features = net(ImagePreprocessing(mode)(images))
    return keras.Model(images, features, name=backbone)


def feature_grid_size(backbone, image_size):
    """The side of the feature grid `backbone` gives for `image_size` px, without building it.

    Arithmetic on each backbone's strides and paddings (checked against the built
    models in the tests): the small CNN's "same" convolutions halve with rounding up;
    ResNet-50 pads its 7 x 7 stem by 3 and its max pooling by 1, then halves with 1 x 1
    stride-2 convolutions; the MobileNetV3 and EfficientNetV2 stems and blocks pad to
    halve with rounding up, five times.
    """
    if backbone not in BACKBONES:
        raise ValueError(f"Unknown backbone {backbone!r}. Choose one of: {', '.join(BACKBONES)}")
    side = int(image_size)
    if backbone == "small_cnn":
        for stride in SMALL_CNN_STRIDES:
            side = math.ceil(side / stride)
        return side
    if backbone == "resnet50":
        side = (side + 2 * 3 - 7) // 2 + 1  # conv1: 7 x 7, stride 2, padding 3
        side = (side + 2 * 1 - 3) // 2 + 1  # pool1: 3 x 3, stride 2, padding 1
        for _ in range(3):  # conv3, conv4, conv5: a 1 x 1 stride-2 convolution each
            side = (side - 1) // 2 + 1
        return side
    for _ in range(5):
        side = math.ceil(side / 2)
    return side


def build_backbone(backbone, image_size, weights=None):
    """Returns a model from raw RGB pixels (B, S, S, 3) in [0, 255] to features.

    Args:
        backbone: one of `BACKBONES`.
        image_size: input side in pixels.
        weights: None (random), a local weights file, or "imagenet" (downloads:
            only where the machine has network access).
    """
    if backbone not in BACKBONES:
        raise ValueError(f"Unknown backbone {backbone!r}. Choose one of: {', '.join(BACKBONES)}")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 32:
        raise ValueError(
            f"`image_size` must be an integer of at least 32 pixels. Received: image_size={image_size!r}"
        )
    weights = resolve_weights(backbone, weights)
    if backbone == "small_cnn":
        return _small_cnn(image_size, weights)
    return _application(backbone, image_size, weights)
