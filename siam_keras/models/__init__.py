"""SIAM models, the unconstrained baseline, backbones and presets."""

from siam_keras.models.backbones import BACKBONES, build_backbone
from siam_keras.models.baseline_model import BaselineModel, build_baseline_model
from siam_keras.models.image_preprocessing import ImagePreprocessing
from siam_keras.models.presets import PRESETS, preset_arguments
from siam_keras.models.siam_model import (
    SIAMModel,
    build_siam_model,
    build_siam_model_from_preset,
    get_siam_layer,
)

__all__ = [
    "BACKBONES",
    "BaselineModel",
    "ImagePreprocessing",
    "PRESETS",
    "SIAMModel",
    "build_backbone",
    "build_baseline_model",
    "build_siam_model",
    "build_siam_model_from_preset",
    "get_siam_layer",
    "preset_arguments",
]
