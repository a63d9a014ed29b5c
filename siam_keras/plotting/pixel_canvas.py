"""A figure drawn straight into pixels with Pillow, in Matplotlib's typeface.

Matplotlib 3.11's Agg backend renders text glyph by glyph in Python (about 0.1 ms a
glyph, so 60-80 ms for the ~800 characters of an explanation figure) and every Axes
adds ticks and spines; a figure drawn for each of many photos is therefore drawn
here: images are pasted as NumPy arrays, shapes and text drawn by Pillow (one C call
per string) in DejaVu Sans, Matplotlib's default font, and the PNG written by Pillow.
The canvas remembers what it drew (each text with its box, each panel's box), so tests
and callers can check the layout, and `figure()` wraps the pixels in a Matplotlib
`Figure` for notebooks.
"""

import dataclasses
import functools
import io
from pathlib import Path

import numpy as np

from siam_keras.runtime.atomic import atomic_output

#: zlib level of the PNG files: 1 writes them several times faster than 6 and, for
#: figures of photos, about 5% larger.
PNG_COMPRESS_LEVEL = 1


@functools.cache
def font(size_px):
    """DejaVu Sans (Matplotlib's) at `size_px` pixels, with Pillow's basic layout."""
    import matplotlib
    from PIL import ImageFont

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), size_px, layout_engine=ImageFont.Layout.BASIC)


@dataclasses.dataclass(frozen=True)
class DrawnText:
    """One string as drawn: its role (e.g. "title"), text, box (left, top, right,
    bottom) in pixels and colour."""

    role: str
    text: str
    box: tuple
    colour: object


class PixelCanvas:
    """A white RGB image to draw a figure into, and the record of what was drawn.

    Args:
        width, height: the size in pixels.
        dpi: pixels per inch: sizes given in points are converted with it.

    Attributes:
        texts: the `DrawnText`s, in drawing order.
        panels: {name: (left, top, right, bottom)} of each panel drawn.
    """

    def __init__(self, width, height, dpi=100):
        from PIL import Image, ImageDraw

        self.image = Image.new("RGB", (int(width), int(height)), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.dpi = dpi
        self.texts = []
        self.panels = {}

    @property
    def size(self):
        return self.image.size

    def points(self, size):
        """`size` points in pixels."""
        return size * self.dpi / 72.0

    def width(self, text, size):
        """The width in pixels of one line of `text` at `size` points."""
        return font(max(1, round(self.points(size)))).getlength(text)

    def fitted(self, text, size, width, smallest=5.0):
        """(text, size): `text` at `size` points or smaller (down to `smallest`) so that
        it is at most `width` px wide; shortened with "..." if even that is too wide."""
        while size > smallest and self.width(text, size) > width:
            size = max(smallest, size - 0.5)
        while len(text) > 1 and self.width(text, size) > width:
            text = text[:-4] + "..." if len(text) > 4 else text[:-1]
        return text, size

    def crop(self, height):
        """Keeps the top `height` pixels of the canvas."""
        from PIL import ImageDraw

        self.image = self.image.crop((0, 0, self.image.size[0], round(height)))
        self.draw = ImageDraw.Draw(self.image)

    def text(self, xy, text, size, anchor="la", fill="black", role="text"):
        """Draws one line of `text` at `size` points; `anchor` as Pillow's (e.g. "ms":
        centred on its baseline). Returns its box."""
        face = font(max(1, round(self.points(size))))
        box = self.draw.textbbox(xy, text, font=face, anchor=anchor)
        self.draw.text(xy, text, font=face, fill=fill, anchor=anchor)
        self.texts.append(DrawnText(role, text, tuple(box), fill))
        return box

    def lines(self, x, top, lines, size, spacing=1.2, anchor="m", fill="black", role="text"):
        """Draws lines of text below `top` (x: their centre for anchor "m", left "l",
        right "r"); returns the bottom of the block."""
        step = self.points(size) * spacing
        for n, line in enumerate(lines):
            self.text((x, top + n * step), line, size, anchor=anchor + "a", fill=fill, role=role)
        return top + len(lines) * step

    def paste(self, pixels, left, top, panel=None):
        """Pastes (H, W, 3) uint8 `pixels` with its top-left corner at (left, top)."""
        from PIL import Image

        pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        self.image.paste(Image.fromarray(pixels), (int(left), int(top)))
        if panel is not None:
            self.panels[panel] = (int(left), int(top), int(left) + pixels.shape[1],
                                  int(top) + pixels.shape[0])

    @property
    def pixels(self):
        """(H, W, 3) uint8 copy of the canvas."""
        return np.asarray(self.image).copy()

    def save_png(self, path):
        """Writes the canvas to `path` as PNG (never a half-written file)."""
        with atomic_output(path) as tmp:
            self.image.save(tmp, format="PNG", compress_level=PNG_COMPRESS_LEVEL,
                            dpi=(self.dpi, self.dpi))

    def figure(self):
        """A Matplotlib `Figure` showing the canvas at its size in inches, on an Agg
        canvas (no pyplot: Matplotlib's backend is left as it is). Jupyter shows it as
        it is returned, even where pyplot was never imported (`_repr_png_`)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        class NotebookFigure(Figure):
            def _repr_png_(self):
                buffer = io.BytesIO()
                self.savefig(buffer, format="png")
                return buffer.getvalue()

        width, height = self.size
        figure = NotebookFigure(figsize=(width / self.dpi, height / self.dpi), dpi=self.dpi)
        FigureCanvasAgg(figure)
        ax = figure.add_axes([0.0, 0.0, 1.0, 1.0])
        ax.imshow(np.asarray(self.image), aspect="auto")
        ax.set_axis_off()
        return figure
