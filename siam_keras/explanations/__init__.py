"""What-where-how explanations of SIAM models, and post-hoc methods to compare with.

`SIAMExplanation`, `HeadWeights` and `decompose` are the runtime layer's
(`siam_keras.runtime`, NumPy only), re-exported here; the explainers of Keras models
(`SIAMExplainer`, `GradCAM`, `GradCAMPlusPlus`, on one base `ModelExplainer`) load
Keras when first used. Evaluating explanations lives in `siam_keras.evaluation`.
"""

import importlib

from siam_keras.runtime.decomposition import HeadWeights, OutputHead, decompose
from siam_keras.runtime.explanation import (
    ExplanationError,
    OutputExplanation,
    SIAMExplanation,
)
from siam_keras.runtime.intervention import SIAMIntervention

_LAZY = {
    "ModelExplainer": "siam_keras.explanations.base",
    "SIAMExplainer": "siam_keras.explanations.explainer",
    "GradCAM": "siam_keras.explanations.gradcam",
    "GradCAMPlusPlus": "siam_keras.explanations.gradcam_plus_plus",
}

__all__ = [
    "ExplanationError",
    "GradCAM",
    "GradCAMPlusPlus",
    "HeadWeights",
    "ModelExplainer",
    "OutputExplanation",
    "OutputHead",
    "SIAMExplainer",
    "SIAMExplanation",
    "SIAMIntervention",
    "decompose",
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
