"""Figures (matplotlib and Pillow; imported only when a figure is drawn)."""

from siam_keras.plotting.attribute_maps import plot_attribute_maps
from siam_keras.plotting.deletion_curves import plot_deletion_curves
from siam_keras.plotting.explanation_figure import explanation_figure, plot_explanation
from siam_keras.plotting.overview import plot_overview

__all__ = ["explanation_figure", "plot_attribute_maps", "plot_deletion_curves",
           "plot_explanation", "plot_overview"]
