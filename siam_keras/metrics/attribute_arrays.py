"""Validation shared by the per-attribute metrics."""

import numpy as np


def attribute_array_pair(first, second, attribute_names, what):
    """Returns two float64 (N, K) arrays, or raises naming both received shapes."""
    first = np.asarray(first, dtype="float64")
    second = np.asarray(second, dtype="float64")
    if first.shape != second.shape or first.ndim != 2 or first.shape[1] != len(attribute_names):
        raise ValueError(
            f"{what} must both be (N, {len(attribute_names)}). Received: "
            f"{first.shape} and {second.shape}"
        )
    return first, second
