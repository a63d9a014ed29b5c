"""The edge runtime's figure, drawn with Pillow: where the output comes from, and why.

Left: the photo under its signed spatial contributions (red raises the output, blue
lowers it; opaque where they are large, clear where they are near 0) and a colour
legend. Right: the prediction as bias plus contributions, and the top-k attributes
as bars, in the colours of `siam_keras.runtime.colours` (those of `siam_keras.plotting`:
grey, "0.000", for a contribution that reads zero), without matplotlib. The model
variant that drew it (e.g. int8) is named in the top right corner.
"""

import numpy as np

from siam_keras.runtime.atomic import atomic_output
from siam_keras.runtime.colours import NONE, sign_colour, signed_text
from siam_keras.runtime.upsampling import upsample

#: RdBu reversed: blue (lowers) through near-white (0) to red (raises).
DIVERGING_ANCHORS = np.array([
    (33, 102, 172), (103, 169, 207), (209, 229, 240), (247, 247, 247),
    (253, 219, 199), (239, 138, 98), (178, 24, 43),
], dtype="float32")
DISPLAY_SIDE = 384
PANEL_WIDTH = 340
MARGIN = 12


def diverging_colours(values, limit):
    """(H, W) values in [-limit, limit] -> (H, W, 3) uint8 colours of `DIVERGING_ANCHORS`."""
    position = (np.clip(values / limit, -1.0, 1.0) + 1.0) / 2.0 * (len(DIVERGING_ANCHORS) - 1)
    low = np.floor(position).astype(int).clip(0, len(DIVERGING_ANCHORS) - 2)
    weight = (position - low)[..., None]
    colours = DIVERGING_ANCHORS[low] * (1 - weight) + DIVERGING_ANCHORS[low + 1] * weight
    return colours.round().astype(np.uint8)


def overlay(photo, spatial):
    """The photo (H, W, 3) under its (h, w) signed contributions; returns (pixels, limit)."""
    height, width = photo.shape[:2]
    values = upsample(spatial, height, width)
    limit = max(float(np.abs(values).max()), 1e-6)
    alpha = (0.9 * np.sqrt(np.clip(np.abs(values) / limit, 0.0, 1.0)))[..., None]
    blended = photo.astype("float32") * (1 - alpha) + diverging_colours(values, limit) * alpha
    return blended.round().astype(np.uint8), limit


def _font(size):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: a fixed bitmap font
        return ImageFont.load_default()


def _display(photo):
    from PIL import Image

    height, width = photo.shape[:2]
    scale = DISPLAY_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(photo).resize(size, Image.LANCZOS if scale < 1 else Image.BICUBIC))


def _explained(explanation, index, output, top_k):
    """(lines under the title, the number drawn, what it is called, the attributes shown):
    the number `OutputExplanation.shown` gives (for a classification output, what
    separates the predicted class from the runner-up)."""
    explained = explanation.output(output)
    kind, number = explained.kind, explained.shown(index)
    added = signed_text(float(number.contributions.sum()), 3)
    if not kind.labelled:
        return ([(f"{output}: {number.value:.3f} = bias {number.bias:.3f} {added} from "
                  f"{len(number.contributions)} attributes")], number, output,
                list(explained.top_k[index][:top_k]))
    order = np.argsort(-np.abs(number.contributions), kind="stable")[:top_k]
    value, bias = kind.number_words
    return ([kind.headline(explained, index),
             (f"{value} {number.value:.3f} = {bias} {number.bias:.3f} "
              f"{added} from {len(number.contributions)} attributes")], number,
            kind.shown_label(explained, index), list(order))


def draw_overlay(path, photo, explanation, index, output, top_k, title, variant=None):
    """Saves the PNG of one image's explanation (same arguments as `plot_explanation`).

    `variant`: the model variant that computed it (e.g. "int8", `EdgeExplainer.variant`),
    written in the top right corner when given. A classification output is drawn as
    what separates the predicted class from the runner-up.
    """
    from PIL import Image, ImageDraw

    summary, number, name, order = _explained(explanation, index, output, top_k)
    shown, limit = overlay(_display(np.asarray(photo, dtype=np.uint8)), number.spatial_contributions)
    height, width = shown.shape[:2]
    header = 34 + 20 * len(summary)
    rows_height = 26 * len(order) + 60
    canvas = Image.new("RGB", (width + PANEL_WIDTH + 3 * MARGIN,
                               max(header + height + 60, header + rows_height)), "white")
    draw = ImageDraw.Draw(canvas)
    small, normal = _font(12), _font(14)
    contributions = number.contributions
    draw.text((MARGIN, 8), title, fill="black", font=normal)
    if variant is not None:
        caption = f"model variant: {variant}"
        draw.text((canvas.width - MARGIN - draw.textlength(caption, font=small), 10), caption,
                  fill=NONE, font=small)
    for line, text in enumerate(summary):
        draw.text((MARGIN, 28 + 20 * line), text, fill="black", font=normal)
    canvas.paste(Image.fromarray(shown), (MARGIN, header))
    legend_top = header + height + 10
    strip = diverging_colours(np.tile(np.linspace(-limit, limit, width), (12, 1)), limit)
    canvas.paste(Image.fromarray(strip), (MARGIN, legend_top))
    draw.text((MARGIN, legend_top + 16), f"-{limit:.3g}  lowers   {name} per feature cell"
              f"   raises  +{limit:.3g}", fill="black", font=small)
    left = width + 2 * MARGIN
    draw.text((left, header), f"top {len(order)} attributes by |contribution|", fill="black",
              font=normal)
    largest = max(float(np.abs(contributions[order]).max()), 1e-6) if order else 1.0
    centre, half = left + 185, 80
    for row, j in enumerate(order):
        top = header + 28 + 26 * row
        c = float(contributions[j])
        colour = sign_colour(c, largest, decimals=3)
        length = half * abs(c) / largest
        x0, x1 = (centre, centre + length) if c >= 0 else (centre - length, centre)
        draw.rectangle([x0, top + 3, max(x1, x0 + 1), top + 19], fill=colour)
        draw.text((left, top + 4), explanation.attribute_names[j][:16], fill="black", font=small)
        draw.text((centre + half + 12, top + 4), signed_text(c, 3), fill=colour, font=small)
    draw.line([centre, header + 26, centre, header + 30 + 26 * len(order)], fill="black")
    with atomic_output(path) as tmp:
        canvas.save(tmp, format="PNG")
