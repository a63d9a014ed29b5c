"""One image's explanation as a figure: what, where and how, in the spirit of the paper's.

Top: the photo; where the output comes from (signed spatial contributions over the
photo, red raises the output, blue lowers it); every attribute's contribution as a
bar. Bottom: the top-k attributes' maps, each framed in the colour of its
contribution's sign, thicker for larger effects. For a classification output the
figure explains what separates the predicted class from the runner-up: the
difference of their logits, of their contributions and of where they come from.
"""

import numpy as np

from siam_keras.plotting.figure_files import save_figure
from siam_keras.runtime import colours
from siam_keras.runtime.upsampling import upsample

DIVERGING = "RdBu_r"
#: The photo is drawn with its longest side at most this many pixels.
DISPLAY_SIDE = 384
MAX_FRAME_WIDTH = 7.0


def display_photo(photo, max_side=DISPLAY_SIDE):
    """(H, W, 3) uint8 reduced (Pillow, antialiased) so its longest side is <= max_side."""
    from PIL import Image

    photo = np.asarray(photo, dtype=np.uint8)
    height, width = photo.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return photo
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(photo).resize(size, Image.LANCZOS))


def sign_colour(value, largest=None):
    """The matplotlib colour of a contribution (`siam_keras.runtime.colours`)."""
    return colours.hex_colour(colours.sign_colour(value, largest))


def symmetric_limit(values):
    """The colour scale's half-width: the largest |value| (never 0)."""
    return max(float(np.max(np.abs(values))), 1e-6)


def draw_contribution_overlay(ax, photo, spatial, limit):
    """The photo under its signed spatial contributions, opaque where they are large
    and clear where they are near 0; returns an artist for a colour bar."""
    import matplotlib

    height, width = photo.shape[:2]
    ax.imshow(photo)
    shown = upsample(spatial, height, width)
    norm = matplotlib.colors.Normalize(vmin=-limit, vmax=limit)
    rgba = matplotlib.colormaps[DIVERGING](norm(shown))
    rgba[..., 3] = 0.9 * np.sqrt(np.clip(np.abs(shown) / limit, 0.0, 1.0))
    ax.imshow(rgba)
    ax.set_xticks([]), ax.set_yticks([])
    return matplotlib.cm.ScalarMappable(norm=norm, cmap=DIVERGING)


def _bar_chart(ax, names, contributions, output, title="how much each attribute adds or takes away"):
    order = np.argsort(contributions)
    values = contributions[order]
    positions = np.arange(len(values))
    largest = symmetric_limit(values)
    ax.barh(positions, values, color=[sign_colour(v, largest) for v in values], height=0.7)
    ax.set_yticks(positions, [names[j] for j in order], fontsize=7 if len(names) <= 12 else 5.5)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlim(-1.35 * largest, 1.35 * largest)
    for y, v in zip(positions, values):
        ax.text(v + (0.03 if v >= 0 else -0.03) * largest, y, f"{v:+.2f}", va="center",
                ha="left" if v >= 0 else "right", fontsize=6.5 if len(names) <= 12 else 5)
    ax.set_xlabel(f"contribution to {output}", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="x", labelsize=7)


def _attribute_panel(ax, photo, attribute_map, name, contribution, score, largest):
    height, width = photo.shape[:2]
    ax.imshow(photo.mean(axis=-1), cmap="gray", vmin=0, vmax=255)
    shown = upsample(attribute_map, height, width)
    ax.imshow(shown, cmap="magma", vmin=0, vmax=max(float(shown.max()), 1e-6), alpha=0.75)
    colour = sign_colour(contribution, largest)
    for spine in ax.spines.values():
        spine.set_edgecolor(colour)
        spine.set_linewidth(1.0 + (MAX_FRAME_WIDTH - 1.0) * abs(contribution) / largest)
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title(f"{name} {contribution:+.2f}", fontsize=8, color=colour)
    ax.set_xlabel(f"score {score:.3f}", fontsize=7)


def plot_explanation(path, photo, explanation, index, output=None, top_k=8, label=None,
                     title=None):
    """Saves a PNG of one image's explanation for one output.

    Args:
        path: the PNG to write.
        photo: (H, W, 3) uint8, the image as a person sees it (any size: the
            maps are stretched over it as the model's input was resized).
        explanation: a `SIAMExplanation` holding this image.
        index: the image's position in `explanation`.
        output: the output explained (default: the first).
        top_k: how many attribute maps to show.
        label: the output's known value (a class name for a classification
            output), if any.
        title: shown above the figure (e.g. the file name).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = output or explanation.output_names[0]
    explained = explanation.output(output)
    photo = display_photo(photo)
    number = explained.versus(index) if explained.is_classification else explained.image(index)
    contributions = number.contributions
    if explained.is_classification:
        shown = list(np.argsort(-np.abs(contributions), kind="stable")[:top_k])
        first, second = explained.ranked_classes(index)[:2]
        probabilities = explained.probabilities(index)
        output = f"{explained.classes[first]} - {explained.classes[second]}"
    else:
        shown = [j for j in explained.top_k[index][:top_k]]
    figure = plt.figure(figsize=(13.0, 7.0))
    rows = figure.add_gridspec(2, 1, height_ratios=[3.0, 1.25], hspace=0.32)
    top = rows[0].subgridspec(1, 3, width_ratios=[1.0, 1.0, 1.0], wspace=0.3)
    ax_photo = figure.add_subplot(top[0])
    ax_photo.imshow(photo)
    ax_photo.set_xticks([]), ax_photo.set_yticks([])
    ax_photo.set_title("the image", fontsize=9)
    ax_where = figure.add_subplot(top[1])
    spatial = number.spatial_contributions
    artist = draw_contribution_overlay(ax_where, photo, spatial, symmetric_limit(spatial))
    ax_where.set_title(f"where {output} comes from\n(red raises it, blue lowers it)", fontsize=9)
    colourbar = figure.colorbar(artist, ax=ax_where, orientation="horizontal", fraction=0.05,
                                pad=0.03)
    colourbar.set_label(f"contribution to {output} per feature cell", fontsize=7)
    colourbar.ax.tick_params(labelsize=6)
    _bar_chart(figure.add_subplot(top[2]), explanation.attribute_names, contributions, output,
               *(["what separates the predicted class from the runner-up"]
                 if explained.is_classification else []))
    bottom = rows[1].subgridspec(1, max(len(shown), 1), wspace=0.12)
    largest = symmetric_limit(contributions[shown]) if shown else 1.0
    for position, j in enumerate(shown):
        _attribute_panel(figure.add_subplot(bottom[position]), photo,
                         explanation.attribute_maps[index, :, :, j],
                         explanation.attribute_names[j], float(contributions[j]),
                         float(explanation.attribute_scores[index, j]), largest)
    if explained.is_classification:
        summary = (f"{explained.name}: {explained.classes[first]} (p = {probabilities[first]:.2f}),"
                   f" runner-up {explained.classes[second]} (p = {probabilities[second]:.2f})")
        if label is not None:
            summary += f"  (label {label})"
        summary += (f"\nlogit difference {number.value:.3f}  =  bias difference {number.bias:.3f}"
                    f"  {float(contributions.sum()):+.3f} from {len(contributions)} attributes")
    else:
        summary = f"{output}: {number.value:.3f}"
        if label is not None and np.isfinite(label):
            summary += f"  (label {float(label):.3f})"
        summary += (f"  =  bias {number.bias:.3f}  {float(contributions.sum()):+.3f} from "
                    f"{len(contributions)} attributes")
    summary += f";  below: the top {len(shown)} attributes' maps"
    figure.suptitle((f"{title}\n" if title else "") + summary, fontsize=10)
    save_figure(figure, path, dpi=100, bbox_inches="tight")
