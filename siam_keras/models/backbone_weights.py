"""Backbone weights: which a backbone takes (None, "imagenet", "preset", a file), and
loading a file that is checked to fit."""

import os

import keras

from siam_keras.runtime.hub_presets import is_hub_backbone


def resolve_weights(backbone, weights):
    """Checks a backbone weights argument: None, "imagenet" ("preset" for a keras-hub
    backbone), or an existing file."""
    named = "'preset'" if is_hub_backbone(backbone) else "'imagenet'"
    if weights is None:
        return None
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            f"`backbone_weights` must be None, {named} or a file path. "
            f"Received: {weights!r} of type {type(weights).__name__}"
        )
    weights = os.fspath(weights)
    if is_hub_backbone(backbone) and weights in ("imagenet", "preset"):
        if weights == "imagenet":
            raise ValueError(
                f"A keras-hub backbone ({backbone!r}) takes the weights its preset holds: "
                "backbone_weights = 'preset' (or None for random ones, or a weights file). "
                "Received: 'imagenet'")
        return weights
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
            f".weights.h5 file, {named} (needs network access), or None."
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
            f"{missing[0]}). Pass the weights of this network, saved with save_weights"
            + (" from the preset's backbone." if is_hub_backbone(backbone) else
               " (include_top=False) or downloaded by keras.applications."))


def load_backbone_weights(model, weights, backbone):
    """Loads the weights file `weights` into `model`, refusing a file that does not fit."""
    try:
        model.load_weights(weights)
    except (ValueError, KeyError, OSError) as error:
        raise ValueError(f"Could not load backbone weights file {weights!r} into the {backbone} "
                         f"backbone: {error}") from error
    _check_loaded(model, weights, backbone)
