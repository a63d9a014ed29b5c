"""A batch overview: the most over- and under-estimated images, with where and why."""

import numpy as np

from siam_keras.plotting.explanation_figure import (
    display_photo,
    draw_contribution_overlay,
    symmetric_limit,
)
from siam_keras.plotting.figure_files import save_figure
from siam_keras.runtime.colours import signed_text

#: Attributes named under each image.
NAMED_ATTRIBUTES = 3


def extreme_errors(predicted, labels, count):
    """Indices of the `count` most over- and under-estimated images (NaN labels skipped)."""
    predicted = np.asarray(predicted, dtype="float64")
    labels = np.asarray(labels, dtype="float64")
    known = np.flatnonzero(np.isfinite(labels))
    errors = predicted[known] - labels[known]
    order = known[np.argsort(errors, kind="stable")]
    count = min(count, len(order) // 2)
    return {"over": order[::-1][:count].tolist(), "under": order[:count].tolist()}


def plot_overview(path, images, explanation, labels, output=None, count=4, names=None):
    """Saves a PNG of the `count` most over- and under-estimated images.

    Each tile shows the image under its signed spatial contributions (one colour
    scale for all tiles), the prediction against the label, and its three largest
    contributions.

    Args:
        path: the PNG to write.
        images: (N, H, W, 3) uint8, the images of `explanation`.
        explanation: a `SIAMExplanation` of the N images.
        labels: (N,) known values of `output` (NaN: unknown, left out).
        output: the output (default: the first).
        count: images per row.
        names: optional N names (file names or indices) shown in the titles.

    Returns:
        The numbers shown, as a JSON-ready dict: per row (`over`, `under`) a list
        of {index, name, value, label, error, top attributes}.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    output, explained = _regression_output(explanation, output)
    chosen = extreme_errors(explained.value, labels, count)
    if not chosen["over"]:
        raise ValueError("The overview needs at least 2 images with known labels.")
    limit = symmetric_limit(explained.spatial_contributions[chosen["over"] + chosen["under"]])
    columns = len(chosen["over"])
    figure = Figure(figsize=(3.0 * columns, 7.0))
    FigureCanvasAgg(figure)  # no pyplot: Matplotlib's backend is left as it is
    axes = figure.subplots(2, columns, squeeze=False)
    shown = {}
    for row, (kind, picked) in enumerate(chosen.items()):
        shown[kind] = []
        for column, i in enumerate(picked):
            name = str(names[i]) if names is not None else f"#{i}"
            tile = _tile_numbers(explanation, output, i, float(labels[i]), name)
            artist = _draw_tile(axes[row, column], images[i],
                                explained.spatial_contributions[i], limit, tile)
            shown[kind].append(tile)
    _label_figure(figure, axes, artist, output, columns)
    save_figure(figure, path, dpi=100, bbox_inches="tight")
    return {"output": output, **shown}


def _regression_output(explanation, output):
    """(`output`, or the first regression output if None; its `OutputExplanation`);
    raises ValueError for a labelled output, whose errors cannot be ranked."""
    regression = [name for name in explanation.output_names
                  if not explanation.output(name).kind.labelled]
    output = output or (regression or explanation.output_names)[0]
    explained = explanation.output(output)
    if explained.kind.labelled:
        raise ValueError(f"The overview ranks images by their error on a regression output; "
                         f"{output!r} is a {explained.kind.name} output. Regression outputs: "
                         f"{regression}")
    return output, explained


def _tile_numbers(explanation, output, i, label, name):
    """What the tile of image `i` shows, as a JSON-ready dict: its prediction of `output`
    against `label`, and its largest contributions."""
    value = float(explanation.output(output).value[i])
    top = explanation.top_attributes(output, i, NAMED_ATTRIBUTES)
    return {"index": int(i), "name": name, "value": value, "label": label,
            "error": value - label,
            "top_attributes": [{"attribute": a, "contribution": c} for a, c in top]}


def _draw_tile(ax, image, spatial_contributions, limit, tile):
    """Draws `image` under its (h, w) `spatial_contributions` on `ax`, titled with the
    `tile`'s numbers; returns the overlay's artist."""
    artist = draw_contribution_overlay(ax, display_photo(image), spatial_contributions, limit)
    value, label = tile["value"], tile["label"]
    ax.set_title(f"{tile['name']}\npredicted {value:.2f}, label {label:.2f} "
                 f"({signed_text(value - label)})", fontsize=8)
    ax.set_xlabel("\n".join(f"{top['attribute']} {signed_text(top['contribution'])}"
                            for top in tile["top_attributes"]), fontsize=7)
    return artist


def _label_figure(figure, axes, artist, output, columns):
    """The rows' labels, the shared colour bar and the title."""
    axes[0, 0].set_ylabel("most over-estimated", fontsize=9)
    axes[1, 0].set_ylabel("most under-estimated", fontsize=9)
    figure.colorbar(artist, ax=axes, fraction=0.02, pad=0.02,
                    label=f"contribution to {output} per feature cell")
    figure.suptitle(f"{output}: the {columns} most over- and under-estimated images "
                    "(red raises the prediction, blue lowers it)", fontsize=10)
