"""Backbones: raw RGB pixels (0-255) in, a (B, H, W, C) feature grid out."""

import os

import keras

from siam_keras.models.image_preprocessing import ImagePreprocessing
from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.feature_grid import (
    BACKBONES,
    MIN_IMAGE_SIZE,
    SMALL_CNN_FILTERS,
    SMALL_CNN_STRIDES,
)

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


def _array_digests(arrays):
    import hashlib

    import numpy as np

    return {hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest() + str(a.shape)
            for a in arrays}


def _check_loaded(model, path, backbone):
    """Raises ValueError unless every weight of `model` holds an array stored in the HDF5
    file `path`: Keras skips the parts of a `.weights.h5` file it cannot match, with a
    warning, and leaves those weights as initialised."""
    import h5py
    import numpy as np

    if not h5py.is_hdf5(path):
        return  # a .keras archive: Keras matches it by structure itself
    stored = []
    with h5py.File(path, "r") as file:
        file.visititems(lambda _, item: stored.append(np.asarray(item))
                        if isinstance(item, h5py.Dataset) else None)
    digests = _array_digests(stored)
    missing = [w.path for w in model.weights
               if next(iter(_array_digests([keras.ops.convert_to_numpy(w)]))) not in digests]
    if missing:
        raise ValueError(
            f"Backbone weights file {path!r} does not fit the {backbone} backbone: "
            f"{len(missing)} of its {len(model.weights)} weights were not in the file (e.g. "
            f"{missing[0]}). Pass the weights of this network (include_top=False), saved with "
            f"save_weights or downloaded by keras.applications.")


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
        _load(model, weights, "small_cnn")
    return model


def _load(model, weights, backbone):
    try:
        model.load_weights(weights)
    except (ValueError, KeyError, OSError) as error:
        raise ValueError(f"Could not load backbone weights file {weights!r} into the {backbone} "
                         f"backbone: {error}") from None
    _check_loaded(model, weights, backbone)


def _application(backbone, image_size, weights):
    net = _application_network(backbone, image_size, "imagenet" if weights == "imagenet" else None)
    if weights not in (None, "imagenet"):
        _load(net, weights, backbone)
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
        backbone: one of `BACKBONES`.
        image_size: input side in pixels, an integer >= `MIN_IMAGE_SIZE` (32).
        weights: None (random), a local weights file, or "imagenet" (downloads:
            only where the machine has network access).
    """
    if backbone not in BACKBONES:
        raise ValueError(f"Unknown backbone {backbone!r}. Choose one of: {', '.join(BACKBONES)}")
    image_size = positive_int("image_size", image_size, minimum=MIN_IMAGE_SIZE)
    weights = resolve_weights(backbone, weights)
    if backbone == "small_cnn":
        return _small_cnn(image_size, weights)
    return _application(backbone, image_size, weights)
