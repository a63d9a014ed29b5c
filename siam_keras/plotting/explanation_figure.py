"""One image's explanation as a figure: what, where and how, in the spirit of the paper's.

Top: the photo; where the output comes from (signed spatial contributions over the
photo, red raises the output, blue lowers it); every attribute's contribution as a
bar, largest |contribution| first. Bottom: the top-k attributes' maps in the bars'
order, on one colour scale (shown), each framed in the colour of its contribution's
sign (grey when it reads 0.00), thicker for larger effects. For a classification
output the figure explains what separates the predicted class from the runner-up:
the difference of their logits, of their contributions and of where they come from.

The figure is drawn in pixels (`PixelCanvas`: NumPy images, Pillow shapes and text,
Matplotlib's colour maps and typeface) on a fixed layout, about 10x faster than the
same figure through Matplotlib's Agg renderer; `explanation_figure` wraps it in a
Matplotlib `Figure` for notebooks. Nothing here touches pyplot or the backend.
"""

import numpy as np

from siam_keras.plotting import figure_pixels as pixels
from siam_keras.plotting.pixel_canvas import PixelCanvas
from siam_keras.runtime import colours

DIVERGING = pixels.DIVERGING
#: `display_photo`'s default longest side, px.
DISPLAY_SIDE = 384
#: Widest thumbnail frame, px (the largest |contribution|).
MAX_FRAME_WIDTH = 7
#: The layout, in pixels at 100 dpi: the width, the margins and the title block.
DPI, WIDTH, MARGIN = 100, 1050, 15
TITLE_TOP, TITLE_GAP = 8, 12
#: Below the title block: panel titles end at PANEL_TOP - 6; the photo and its overlay
#: fit (aspect kept) in IMAGE_BOX; the bars' column starts at BARS_COLUMN (their names)
#: and ends at the right margin; the thumbnails fit in THUMBNAIL_HEIGHT; ROW_GAP px
#: separate the panels above from the thumbnails' titles.
PANEL_TOP, IMAGE_BOX, PHOTO_LEFT, OVERLAY_LEFT = 38, (320, 290), MARGIN, 365
BARS_COLUMN, BARS_LEFT, BARS_WIDTH, BARS_HEIGHT = 705, 790, 238, 280
THUMBNAIL_HEIGHT, ROW_GAP = 100, 26
#: What the colour bar (under the overlay) and the bars' axis take below their panels.
COLOUR_BAR_HEIGHT, BARS_AXIS_HEIGHT = 55, 34
ZERO_LINE = (0, 0, 0)


def display_photo(photo, max_side=DISPLAY_SIDE):
    """(H, W, 3) uint8 reduced (Pillow, antialiased) so its longest side is <= max_side."""
    return pixels.display_photo(photo, max_side)


def symmetric_limit(values):
    """The colour scale's half-width: the largest |value| (never 0)."""
    return max(float(np.max(np.abs(values))), 1e-6) if np.size(values) else 1e-6


def draw_contribution_overlay(ax, photo, spatial, limit):
    """Draws the photo under its signed spatial contributions (`figure_pixels`) in
    Matplotlib axes `ax`; returns an artist for a colour bar."""
    import matplotlib

    ax.imshow(pixels.contribution_overlay(photo, spatial, limit))
    ax.set_xticks([]), ax.set_yticks([])
    norm = matplotlib.colors.Normalize(vmin=-limit, vmax=limit)
    return matplotlib.cm.ScalarMappable(norm=norm, cmap=DIVERGING)


def tick_labels(low, high, bins=6):
    """Readable ticks in [low, high] as (value, text) pairs; 0 reads "0", never "-0"."""
    from matplotlib.ticker import MaxNLocator

    span = high - low
    ticks = [t for t in MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
             if low - 1e-9 * span <= t <= high + 1e-9 * span]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else span
    decimals = next((d for d in range(7) if all(abs(round(t, d) - t) < 1e-6 * step
                                                 for t in ticks)), None)
    if decimals is None:
        return [(t, f"{t:.2g}" if abs(t) > 1e-3 * step else "0") for t in ticks]
    return [(t, "0" if colours.is_shown_as_zero(t, decimals) else f"{t:.{decimals}f}")
            for t in ticks]


def _summary(explained, number, index, label):
    """The lines of the title under the caller's."""
    contributions = number.contributions
    added = f"{colours.signed_text(float(contributions.sum()), 3)} from {len(contributions)} attributes"
    if explained.kind.labelled:
        line = explained.kind.headline(explained, index)
        if label is not None:
            line += f"  (label {label})"
        value, bias = explained.kind.number_words
        return [line, f"{value} {number.value:.3f}  =  {bias} {number.bias:.3f}  {added}"]
    line = f"{explained.name}: {number.value:.3f}"
    if label is not None and np.isfinite(label):
        line += f"  (label {float(label):.3f})"
    return [f"{line}  =  bias {number.bias:.3f}  {added}"]


def _bars(canvas, top, names, values, output, title):
    """Every attribute's contribution as a bar, in the order given (top to bottom)."""
    left, right, bottom = BARS_LEFT, BARS_LEFT + BARS_WIDTH, top + BARS_HEIGHT
    largest = symmetric_limit(values)
    small = len(values) > 12

    def x_of(value):
        return left + (value / (1.5 * largest) + 1.0) / 2.0 * BARS_WIDTH

    pitch = BARS_HEIGHT / max(len(values), 1)
    for n, (name, v) in enumerate(zip(names, values)):
        y = top + (n + 0.5) * pitch
        x0, x1 = sorted((x_of(0.0), x_of(v)))
        canvas.draw.rectangle([x0, y - 0.35 * pitch, max(x1, x0 + 1), y + 0.35 * pitch],
                              fill=colours.sign_colour(v, largest, decimals=2))
        canvas.draw.line([left - 4, y, left, y], fill=ZERO_LINE)
        canvas.text((left - 6, y), *canvas.fitted(name, 5.5 if small else 7, left - 6 - BARS_COLUMN),
                    anchor="rm", role="bar_name")
        canvas.text((x_of(v) + (3 if v >= 0 else -3), y), colours.signed_text(v),
                    5 if small else 6.5, anchor="lm" if v >= 0 else "rm", role="bar_value")
    canvas.draw.line([x_of(0.0), top, x_of(0.0), bottom], fill=ZERO_LINE)
    canvas.draw.rectangle([left, top, right, bottom], outline=ZERO_LINE)
    for value, text in tick_labels(-1.5 * largest, 1.5 * largest, bins=5):
        canvas.draw.line([x_of(value), bottom, x_of(value), bottom + 4], fill=ZERO_LINE)
        canvas.text((x_of(value), bottom + 6), text, 7, anchor="ma", role="bar_tick")
    canvas.text(((left + right) / 2, bottom + 20), f"contribution to {output}", 8, anchor="ma",
                role="bar_axis")
    title, size = canvas.fitted(title, 9, WIDTH - MARGIN - BARS_COLUMN)
    centre = min((left + right) / 2, WIDTH - MARGIN - canvas.width(title, size) / 2)
    canvas.text((centre, top - 6), title, size, anchor="md", role="panel_title")
    canvas.panels["bars"] = (left, top, right + 1, bottom + 1)


def _overlay(canvas, fitted, spatial, left, top, output):
    """The spatial contributions over the photo, and their colour bar below."""
    limit = symmetric_limit(spatial)
    height, width = fitted.shape[:2]
    canvas.paste(pixels.contribution_overlay(fitted, spatial, limit), left, top, panel="overlay")
    strip = top + height + 8
    canvas.paste(pixels.colour_strip(DIVERGING, width, 10), left, strip, panel="colour_bar")
    for value, text in tick_labels(-limit, limit):
        x = left + (value + limit) / (2 * limit) * (width - 1)
        canvas.draw.line([x, strip + 10, x, strip + 13], fill=ZERO_LINE)
        canvas.text((x, strip + 15), text, 6, anchor="ma", role="colour_bar_tick")
    canvas.text((left + width / 2, strip + 27), f"contribution to {output} per feature cell", 7,
                anchor="ma", role="colour_bar_label")


def _thumbnails(canvas, top, fitted, explanation, index, shown, contributions):
    """The shown attributes' maps on one colour scale below their titles (from `top`),
    their scores and the scale; returns the bottom of what was drawn."""
    if not len(shown):
        return top
    slot = (WIDTH - 2 * MARGIN) // max(len(shown), 1)
    frame = min(MAX_FRAME_WIDTH, max(2, slot // 16))
    box = (slot - 2 * frame - 6, THUMBNAIL_HEIGHT)
    maps = [explanation.attribute_maps[index, :, :, j] for j in shown]
    peak = max(max(float(m.max()) for m in maps), 1e-6) if maps else 1.0
    values = contributions[shown]
    largest = symmetric_limit(values)
    wide = slot >= 110
    size = 8 if wide else 6.5
    titles = [[f"{explanation.attribute_names[j]} {colours.signed_text(c)}"] if wide
              else [explanation.attribute_names[j], colours.signed_text(c)]
              for j, c in zip(shown, values)]
    row_top = top + len(titles[0] if titles else []) * canvas.points(size) * 1.2 + 2
    row = pixels.thumbnail_row(fitted, maps, values, peak, largest, slot, box, frame)
    canvas.paste(row, MARGIN, row_top, panel="thumbnails")
    bottom = row_top + row.shape[0]
    for n, (j, c, title) in enumerate(zip(shown, values, titles)):
        x = MARGIN + (n + 0.5) * slot
        title = [canvas.fitted(line, size, slot - 4) for line in title]
        for k, (line, line_size) in enumerate(title):
            canvas.text((x, top + k * canvas.points(size) * 1.2), line, line_size, anchor="ma",
                        fill=colours.sign_colour(c, largest, decimals=2), role="thumbnail_title")
        canvas.text((x, bottom + 4), f"score {explanation.attribute_scores[index, j]:.3f}",
                    7 if wide else 5.5, anchor="ma", role="thumbnail_score")
    caption, strip_right = bottom + 22, WIDTH - MARGIN - 45
    canvas.paste(pixels.colour_strip(pixels.MAPS, 100, 9), strip_right - 100, caption + 2,
                 panel="map_scale")
    canvas.text((strip_right - 104, caption), "0", 7, anchor="ra", role="map_scale")
    canvas.text((strip_right + 4, caption), f"{peak:.3g}", 7, anchor="la", role="map_scale")
    canvas.text((strip_right - 118, caption),
                f"the top {len(shown)} attributes' maps, in the bars' order (frames: red raises, "
                "blue lowers, grey ~0); one colour scale for all maps:", 7.5, anchor="ra",
                role="map_caption")
    return caption + 14


#: How the title's warning for a photo unlike the training photos starts.
UNLIKE_TRAINING = "Out of distribution"


def _unlike_training(explanation, index):
    """The title's warning for a photo unlike the model's training photos ([] if none)."""
    flagged = explanation.out_of_distribution
    if flagged is None or not flagged.flagged[index]:
        return []
    return [f"{UNLIKE_TRAINING}: {flagged.describe(index)}; the explanation describes a photo "
            "unlike any the model learned from"]


def draw_explanation(photo, explanation, index, output=None, top_k=8, label=None, title=None):
    """One image's explanation for one output, drawn into a `PixelCanvas`.

    Args: as `explanation_figure`.

    Returns:
        The `PixelCanvas` (10.5 in wide at 100 dpi); its `texts` and `panels` record
        the layout ("photo", "overlay", "colour_bar", "bars", "thumbnails", "map_scale").
    """
    output = output or explanation.output_names[0]
    explained = explanation.output(output)
    number = explained.shown(index)
    contributions = np.asarray(number.contributions, dtype="float64")
    order = np.argsort(-np.abs(contributions), kind="stable")
    shown = order[: max(0, int(top_k))]
    name = explained.kind.shown_label(explained, index)
    lines = [line for text in ([title] if title else []) + _summary(explained, number, index, label)
             + _unlike_training(explanation, index) for line in str(text).split("\n")]
    header = round(TITLE_TOP + len(lines) * 10 * DPI / 72 * 1.2 + TITLE_GAP)  # 10 pt lines
    canvas = PixelCanvas(WIDTH, header + PANEL_TOP + IMAGE_BOX[1] + COLOUR_BAR_HEIGHT + 400,
                         dpi=DPI)
    for n, line in enumerate(lines):
        warning = line.startswith(UNLIKE_TRAINING)  # in the page's warning colour
        canvas.text((WIDTH / 2, TITLE_TOP + n * canvas.points(10) * 1.2),
                    *canvas.fitted(line, 10, WIDTH - 2 * MARGIN), anchor="ma", role="title",
                    fill=colours.POSITIVE if warning else "black")
    photo = np.asarray(photo, dtype=np.uint8)
    width, height = pixels.fitted_size(*photo.shape[:2], *IMAGE_BOX)
    fitted = pixels.resized(photo, width, height)
    top = header + PANEL_TOP
    canvas.paste(fitted, PHOTO_LEFT + (IMAGE_BOX[0] - width) // 2, top, panel="photo")
    canvas.text((PHOTO_LEFT + IMAGE_BOX[0] / 2, top - 6), "the image", 9, anchor="md",
                role="panel_title")
    _overlay(canvas, fitted, number.spatial_contributions,
             OVERLAY_LEFT + (IMAGE_BOX[0] - width) // 2, top, name)
    step = canvas.points(9) * 1.2
    canvas.lines(OVERLAY_LEFT + IMAGE_BOX[0] / 2, top - 6 - 2 * step,
                 [f"where {name} comes from", "(red raises it, blue lowers it)"], 9,
                 role="panel_title")
    _bars(canvas, top, [explanation.attribute_names[j] for j in order], contributions[order], name,
          explained.kind.bars_caption)
    below = top + max(height + COLOUR_BAR_HEIGHT, BARS_HEIGHT + BARS_AXIS_HEIGHT) + ROW_GAP
    canvas.crop(_thumbnails(canvas, below, fitted, explanation, index, shown, contributions) + 8)
    return canvas


def explanation_figure(photo, explanation, index, output=None, top_k=8, label=None, title=None):
    """One image's explanation for one output, as a Matplotlib `Figure` (for notebooks:
    Jupyter shows it as it is returned; pyplot and the backend are left alone).

    Args:
        photo: (H, W, 3) uint8, the image as a person sees it (any size: the
            maps are stretched over it as the model's input was resized).
        explanation: a `SIAMExplanation` holding this image.
        index: the image's position in `explanation`.
        output: the output explained (default: the first).
        top_k: how many attribute maps to show.
        label: the output's known value (a class name for a classification
            output), if any.
        title: shown above the figure (e.g. the file name).

    Returns:
        A `matplotlib.figure.Figure` on an Agg canvas, 10.5 in wide at 100 dpi,
        showing `draw_explanation`'s pixels.
    """
    return draw_explanation(photo, explanation, index, output=output, top_k=top_k, label=label,
                            title=title).figure()


def plot_explanation(path, photo, explanation, index, output=None, top_k=8, label=None,
                     title=None):
    """Saves a PNG of one image's explanation for one output (`draw_explanation`).

    Args:
        path: the PNG to write (atomically).
        photo, explanation, index, output, top_k, label, title: see
            `explanation_figure`.
    """
    draw_explanation(photo, explanation, index, output=output, top_k=top_k, label=label,
                     title=title).save_png(path)
