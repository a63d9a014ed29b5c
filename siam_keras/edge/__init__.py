"""The edge runtime: explain a SIAM model's predictions with LiteRT, without TensorFlow.

Needs only NumPy, Pillow and ai-edge-litert: `EdgeExplainer` runs a `.tflite` file
written by `siam-export` and explains its outputs with the same NumPy code as
`SIAMExplainer` (`siam_keras.explanations`); `siam-edge explain` writes the same JSON
files as `siam explain`, with a PNG overlay drawn by Pillow.
"""

from siam_keras.edge.explainer import EdgeExplainer

__all__ = ["EdgeExplainer"]
