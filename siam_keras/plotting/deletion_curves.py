"""Deletion curves of several explanation methods on one figure."""

from siam_keras.plotting.figure_files import save_figure

#: How each method is named in the legend.
LABELS = {
    "siam": "SIAM spatial contributions",
    "gradcam": "Grad-CAM (SIAM model)",
    "gradcam_plus_plus": "Grad-CAM++, tf-keras-vis (SIAM model)",
    "gradcam_baseline": "Grad-CAM (baseline model)",
}


def plot_deletion_curves(path, deletion):
    """Saves a PNG of the mean deletion curve of each method.

    Args:
        path: the PNG to write.
        deletion: the `deletion` section of an explanation evaluation
            (`output`, `steps`, `fill`, `mean_curves` {method: list}).
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.2))
    FigureCanvasAgg(figure)  # no pyplot: Matplotlib's backend is left as it is
    ax = figure.subplots()
    for method, curve in deletion["mean_curves"].items():
        removed = np.linspace(0.0, 1.0, len(curve))
        style = "--" if method.endswith("baseline") else "-"
        ax.plot(removed, curve, style, marker="o", markersize=3, label=LABELS.get(method, method))
    ax.set_xlabel("share of pixels removed, most relevant first")
    ax.set_ylabel(f"mean predicted {deletion['output']}")
    ax.set_title(f"Deletion curves over {deletion['num_images']} images (fill: {deletion['fill']}); "
                 "lower is more faithful", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
