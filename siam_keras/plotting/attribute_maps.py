"""A grid of images beside their attribute maps (matplotlib, no display needed)."""

import numpy as np

from siam_keras.plotting.figure_files import save_figure
from siam_keras.runtime.upsampling import upsample


def plot_attribute_maps(path, images, attribute_maps, attribute_names, titles=None, labels=None):
    """Saves a PNG: one row per image, the image then each attribute's map over it.

    Each attribute's maps share one colour scale across the rows, so a dark map
    means "absent here" compared with the other images.

    Args:
        path: where to write the PNG.
        images: (N, S, S, 3) uint8.
        attribute_maps: (N, h, w, K) non-negative maps.
        attribute_names: K names (column titles).
        titles: optional N strings shown under each image (e.g. the prediction).
        labels: optional (N, K) attribute labels shown in each map's corner.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    images = np.asarray(images)
    num_images, size = images.shape[0], images.shape[1]
    num_attributes = len(attribute_names)
    maps = upsample(attribute_maps, size)
    peak = np.maximum(maps.max(axis=(0, 1, 2)), 1e-6)
    figure = Figure(figsize=(1.6 * (num_attributes + 1), 1.75 * num_images))
    FigureCanvasAgg(figure)  # no pyplot: Matplotlib's backend is left as it is
    axes = figure.subplots(num_images, num_attributes + 1, squeeze=False)
    for n in range(num_images):
        axes[n, 0].imshow(images[n])
        axes[n, 0].set_xlabel(titles[n] if titles else "", fontsize=7)
        for k, name in enumerate(attribute_names):
            ax = axes[n, k + 1]
            ax.imshow(images[n], alpha=0.35)
            ax.imshow(maps[n, :, :, k], cmap="magma", vmin=0, vmax=peak[k], alpha=0.75)
            if n == 0:
                ax.set_title(name, fontsize=8)
            if labels is not None:
                ax.text(1, 6, f"{labels[n, k]:.2f}", color="white", fontsize=6)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle("Attribute maps (shared scale per attribute; label in the corner)", fontsize=9)
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
