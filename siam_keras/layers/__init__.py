"""Keras layers of siam-keras."""

from siam_keras.layers.alternating_signs import AlternatingSigns
from siam_keras.layers.siam_layer import SIAMLayer

__all__ = ["AlternatingSigns", "SIAMLayer"]
