"""Backbones: raw RGB pixels (0-255) in, a (B, H, W, C) feature grid out."""

import os

import keras

from siam_keras.models.image_preprocessing import ImagePreprocessing
from siam_keras.runtime.feature_grid import BACKBONES, SMALL_CNN_FILTERS, SMALL_CNN_STRIDES

__all__ = ["BACKBONES", "SMALL_CNN_FILTERS", "SMALL_CNN_STRIDES", "build_backbone",
           "resolve_weights"]


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
