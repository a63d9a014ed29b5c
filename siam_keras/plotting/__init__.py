"""Figures (matplotlib; imported only when a figure is drawn)."""

from siam_keras.plotting.attribute_maps import plot_attribute_maps, upsample

__all__ = ["plot_attribute_maps", "upsample"]
