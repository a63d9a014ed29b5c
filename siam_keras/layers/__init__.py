"""Keras layers of siam-keras."""

from siam_keras.layers.alternating_signs import AlternatingSigns
from siam_keras.layers.siam_layer import SIAMLayer
from siam_keras.layers.token_grid import TokenGrid

__all__ = ["AlternatingSigns", "SIAMLayer", "TokenGrid"]
