"""What-where-how explanations of SIAM models, and post-hoc methods to compare with.

`SIAMExplanation`, `HeadWeights` and `decompose` need only NumPy (the edge runtime
uses them); `SIAMExplainer`, `GradCAM` and the ground-truth evaluation load Keras
when first used.
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
    "SIAMExplainer": "siam_keras.explanations.explainer",
    "GradCAM": "siam_keras.explanations.gradcam",
}

__all__ = [
    "ExplanationError",
    "GradCAM",
    "HeadWeights",
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
