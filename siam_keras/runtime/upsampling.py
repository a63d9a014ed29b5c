"""Bilinear upsampling of (N, h, w, K) maps in NumPy (no TensorFlow).

Shared by the explainer, the figures and the edge runtime, so that a map looks the
same wherever it is drawn. The sampling grid is `tf.image.resize(..., "bilinear")`'s
(half-pixel centres, edges clamped), and the resize is two small matrix products.
"""

import functools

import numpy as np

from siam_keras.runtime.argument_validation import positive_int


@functools.lru_cache(maxsize=64)
def bilinear_matrix(in_size, out_size):
    """(out_size, in_size) interpolation matrix with half-pixel centres.

    Output sample i reads the input at x = (i + 0.5) * in_size / out_size - 0.5,
    clamped to [0, in_size - 1], as TensorFlow's and Pillow's bilinear resizes do
    when enlarging. Rows sum to 1. The array is read-only (it is cached).
    """
    positive_int("in_size", in_size)
    positive_int("out_size", out_size)
    x = (np.arange(out_size, dtype="float64") + 0.5) * (in_size / out_size) - 0.5
    x = np.clip(x, 0.0, in_size - 1)
    lower = np.floor(x).astype(int)
    upper = np.minimum(lower + 1, in_size - 1)
    weight = x - lower
    matrix = np.zeros((out_size, in_size), dtype="float64")
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, lower), 1.0 - weight)
    np.add.at(matrix, (rows, upper), weight)
    matrix = matrix.astype("float32")
    matrix.setflags(write=False)
    return matrix


def upsample(maps, height, width=None):
    """(N, h, w, K) maps -> (N, height, width, K) float32, bilinearly.

    Also takes a single (h, w) or (h, w, K) map (returned with the same rank).
    The result is a transposed view (no copy is made to reorder it).
    """
    width = height if width is None else width
    maps = np.asarray(maps, dtype="float32")
    if maps.ndim == 2:
        return upsample(maps[None, :, :, None], height, width)[0, :, :, 0]
    if maps.ndim == 3:
        return upsample(maps[None], height, width)[0]
    if maps.ndim != 4:
        raise ValueError(f"Expected maps of shape (N, h, w, K). Received: {maps.shape}")
    batch, in_height, in_width, channels = maps.shape
    rows = bilinear_matrix(in_height, height)
    cols = bilinear_matrix(in_width, width)
    # Two large matrix products (BLAS) instead of one small product per map:
    # rows first, over a (h, B*w*K) view, then columns, over a (height*B*K, w) one.
    by_row = np.ascontiguousarray(maps.transpose(1, 0, 2, 3)).reshape(in_height, -1)
    resized_rows = (rows @ by_row).reshape(height, batch, in_width, channels)
    by_col = np.ascontiguousarray(resized_rows.transpose(0, 1, 3, 2)).reshape(-1, in_width)
    resized = (by_col @ cols.T).reshape(height, batch, channels, width)
    return resized.transpose(1, 0, 3, 2)
