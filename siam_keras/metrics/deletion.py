"""Faithfulness by deletion (Petsiuk, Das, Saenko, RISE, 2018), for regression outputs.

Pixels are removed most-relevant first, in equal steps, and the model's output is
recorded after each step. A faithful map removes what raises the output first, so
the output falls fast: a lower area under the curve is better. NumPy only: the
model is any callable from images to outputs.
"""

import numpy as np

FILLS = ("mean", "zero")


def deletion_order(relevance, seed=0):
    """(N, H*W) pixel indices, most relevant first; ties in a fixed random order."""
    relevance = np.asarray(relevance, dtype="float32")
    n, height, width = relevance.shape
    tie_break = np.random.default_rng(seed).permutation(height * width)
    flat = relevance.reshape(n, -1)[:, tie_break]
    return tie_break[np.argsort(-flat, axis=1, kind="stable")]


def deletion_curves(predict, images, relevance, steps=16, fill="mean", seed=0):
    """Outputs while the most relevant pixels are removed, (N, steps + 1).

    Args:
        predict: callable (N, H, W, 3) float32 pixels -> (N,) outputs.
        images: (N, H, W, 3) pixels.
        relevance: (N, H, W) relevance at image resolution.
        steps: the curve's points after the start; step s has removed s/steps of
            the pixels.
        fill: what a removed pixel becomes: `"mean"` (the image's mean colour) or
            `"zero"` (black).
        seed: the order of tied pixels.
    """
    if fill not in FILLS:
        raise ValueError(f"`fill` must be one of {list(FILLS)}. Received: fill={fill!r}")
    images = np.asarray(images, dtype="float32")
    n, height, width, channels = images.shape
    if np.shape(relevance) != (n, height, width):
        raise ValueError(
            f"relevance must be (N, H, W) = {(n, height, width)}. Received: {np.shape(relevance)}"
        )
    order = deletion_order(relevance, seed)
    filler = images.mean(axis=(1, 2), keepdims=True) if fill == "mean" else np.zeros((n, 1, 1, channels))
    filler = np.broadcast_to(filler, images.shape).reshape(n, -1, channels)
    current = images.reshape(n, -1, channels).copy()
    rows = np.arange(n)[:, None]
    bounds = np.linspace(0, height * width, steps + 1).round().astype(int)
    curves = np.zeros((n, steps + 1))
    curves[:, 0] = predict(images)
    for s in range(1, steps + 1):
        removed = order[:, bounds[s - 1] : bounds[s]]
        current[rows, removed] = filler[rows, removed]
        curves[:, s] = predict(current.reshape(images.shape))
    return curves


def deletion_auc(curves):
    """Area under each deletion curve over the removed share in [0, 1], (N,)."""
    curves = np.asarray(curves, dtype="float64")
    return np.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), axis=1)
