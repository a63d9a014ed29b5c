"""Adaptive average pooling in NumPy (no TensorFlow): shared by layers and data."""

import numpy as np


def adaptive_pooling_matrix(in_size, out_size):
    """(out_size, in_size) averaging matrix with PyTorch's AdaptiveAvgPool bins.

    Bin i covers [floor(i * in / out), ceil((i + 1) * in / out)), so bins tile the
    input exactly when out divides in, overlap when it does not, and also work when
    out > in.
    """
    matrix = np.zeros((out_size, in_size), dtype="float32")
    for i in range(out_size):
        start = (i * in_size) // out_size
        end = -((-(i + 1) * in_size) // out_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def adaptive_average_pool(maps, size):
    """Pools (N, H, W, K) maps to (N, size, size, K)."""
    maps = np.asarray(maps, dtype="float32")
    rows = adaptive_pooling_matrix(maps.shape[1], size)
    cols = adaptive_pooling_matrix(maps.shape[2], size)
    pooled_rows = np.einsum("sh,nhwk->nswk", rows, maps)
    return np.einsum("nswk,tw->nstk", pooled_rows, cols)
