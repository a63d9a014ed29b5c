"""Saving a Matplotlib figure as a PNG file, atomically, and freeing it."""

from siam_keras.runtime.atomic import atomic_output


def save_figure(figure, path, **savefig_kwargs):
    """Writes `figure` to `path` as PNG (never a half-written file) and closes it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_output(path) as tmp:
            figure.savefig(tmp, format="png", **savefig_kwargs)
    finally:
        plt.close(figure)
