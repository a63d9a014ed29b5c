"""Saving a Matplotlib figure as a PNG file, atomically, and freeing it."""

import sys

from siam_keras.runtime.atomic import atomic_output


def save_figure(figure, path, **savefig_kwargs):
    """Writes `figure` to `path` as PNG (never a half-written file) and closes it.

    The figures of `siam_keras.plotting` are plain `Figure`s on an Agg canvas, never
    pyplot's; one made with pyplot is closed there too (pyplot is not imported for it).
    """
    try:
        with atomic_output(path) as tmp:
            figure.savefig(tmp, format="png", **savefig_kwargs)
    finally:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close(figure)
