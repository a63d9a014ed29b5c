"""Backbones: raw RGB pixels (0-255) in, a (B, H, W, C) feature grid out."""

import keras

from siam_keras.models.backbone_weights import load_backbone_weights, resolve_weights
from siam_keras.models.image_preprocessing import ImagePreprocessing
from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.feature_grid import (
    BACKBONES,
    MIN_IMAGE_SIZE,
    SMALL_CNN_FILTERS,
    SMALL_CNN_STRIDES,
)
from siam_keras.runtime.hub_presets import is_hub_backbone

__all__ = ["BACKBONES", "SMALL_CNN_FILTERS", "SMALL_CNN_STRIDES", "build_backbone",
           "load_backbone_weights", "resolve_weights"]


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
        load_backbone_weights(model, weights, "small_cnn")
    return model


def _application(backbone, image_size, weights):
    net = _application_network(backbone, image_size, "imagenet" if weights == "imagenet" else None)
    if weights not in (None, "imagenet"):
        load_backbone_weights(net, weights, backbone)
    images = keras.Input((image_size, image_size, 3), name="image")
    mode = "caffe" if backbone == "resnet50" else "none"
    features = net(ImagePreprocessing(mode)(images))
    return keras.Model(images, features, name=backbone)


def _application_network(backbone, image_size, weights):
    apps = keras.applications
    shape = (image_size, image_size, 3)
    if backbone == "resnet50":
        return apps.ResNet50(include_top=False, weights=weights, input_shape=shape)
    if backbone == "mobilenet_v3_small":
        return apps.MobileNetV3Small(input_shape=shape, include_top=False, weights=weights,
                                     include_preprocessing=True)
    if backbone == "mobilenet_v3_large":
        return apps.MobileNetV3Large(input_shape=shape, include_top=False, weights=weights,
                                     include_preprocessing=True)
    return apps.EfficientNetV2B0(include_top=False, weights=weights, input_shape=shape,
                                 include_preprocessing=True)


def build_backbone(backbone, image_size, weights=None):
    """Returns a model from raw RGB pixels (B, S, S, 3) in [0, 255] to features.

    Args:
        backbone: one of `BACKBONES`, or `"hub:<preset>"`: a keras-hub image backbone
            (`siam_keras.models.hub_backbones`).
        image_size: input side in pixels, an integer >= `MIN_IMAGE_SIZE` (32).
        weights: None (random), a local weights file, or "imagenet" (downloads:
            only where the machine has network access); "preset" for a hub backbone.
    """
    if backbone not in BACKBONES and not is_hub_backbone(backbone):
        raise ValueError(f"Unknown backbone {backbone!r}. Choose one of: {', '.join(BACKBONES)}, "
                         "or 'hub:<preset>' (a keras-hub image backbone)")
    image_size = positive_int("image_size", image_size, minimum=MIN_IMAGE_SIZE)
    weights = resolve_weights(backbone, weights)
    if is_hub_backbone(backbone):
        from siam_keras.models.hub_backbones import build_hub_backbone

        return build_hub_backbone(backbone, image_size, weights)
    if backbone == "small_cnn":
        return _small_cnn(image_size, weights)
    return _application(backbone, image_size, weights)
