"""What one explanation figure costs: `plot_explanation` now vs. a baseline revision's.

Each case draws one figure of a 64 px demo-sized model's explanation (16 x 16 feature
grid, K = 8 attributes, top 8 maps) over a real photo (Matplotlib's Grace Hopper,
resized): a 640 x 480 landscape photo, a 480 x 640 portrait one, and a classification
output (predicted class vs. runner-up). The two versions are timed round by round,
interleaved, and the median is kept. The baseline is the `explanation_figure.py` of a
git revision (default: the last one before the figures were redone), loaded as a
module beside the current one.

Recorded before the change, on the 2-core development machine loaded by other work
(old code only, seconds per figure, median of 5): 640 x 480 1.05, 480 x 640 1.40,
classification 1.12 (reported as ~0.45 s per image in `siam explain` on a quieter machine).

Usage: python -m benchmarks.figures [--repeats 10] [--baseline REV] [--out DIR]
"""

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: The commit whose figure code was the baseline (0.45 s per figure in `siam explain`).
BASELINE = "3845a59"
MODULE = "siam_keras/plotting/explanation_figure.py"
CLASSES = ("coast", "forest", "town", "mountain")
ATTRIBUTES = ("sky", "clouds", "water", "trees", "grass", "road", "buildings", "rock")


def demo_explanation(seed=0, grid=16, image_size=64):
    """A `SIAMExplanation` of 2 images with a regression and a classification output,
    from random head weights (NumPy only: the figure does not depend on the model)."""
    from siam_keras.runtime.decomposition import HeadWeights, OutputHead, decompose
    from siam_keras.runtime.explanation import SIAMExplanation
    from siam_keras.runtime.output_kinds import Classification, Regression

    rng = np.random.default_rng(seed)
    k = len(ATTRIBUTES)

    def head(classes=None):
        count = () if classes is None else (len(classes),)
        return OutputHead(
            cell_templates=np.abs(rng.normal(size=(grid, grid, k, 2))).astype("float32") / grid,
            mixing=rng.normal(size=(k, 2, *count)).astype("float32"),
            bias=rng.normal(size=count).astype("float32") if classes else 5.0,
            kind=Classification(classes) if classes else Regression())

    weights = HeadWeights(ATTRIBUTES, {"scenicness": head(), "landscape": head(CLASSES)})
    maps = np.abs(rng.normal(size=(2, grid, grid, k))).astype("float32")
    maps *= np.linspace(0.0, 1.0, grid)[None, :, None, None]  # some structure
    predictions = {"attribute_maps": maps, "attribute_scores": maps.mean(axis=(1, 2))}
    for name, output_head in weights.outputs.items():
        contributions = decompose(output_head, maps).contributions
        predictions[f"{name}_contributions"] = contributions
        predictions[name] = contributions.sum(axis=1) + output_head.bias
    return SIAMExplanation.from_predictions(weights, predictions, (image_size, image_size))


def photo(width, height):
    """Matplotlib's Grace Hopper photo resized to width x height (uint8 RGB)."""
    import matplotlib
    from PIL import Image

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((width, height), Image.LANCZOS))


def baseline_module(revision):
    """`explanation_figure.py` as it was at `revision`, imported under another name."""
    source = subprocess.run(["git", "show", f"{revision}:{MODULE}"], capture_output=True,
                            text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_explanation_figure.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_explanation_figure", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seconds(draw, path, pixels, explanation, output, title):
    """Seconds `draw` (a `plot_explanation`) takes to write one figure."""
    label = 6.5 if output == "scenicness" else "coast"
    start = time.perf_counter()
    draw(path, pixels, explanation, 0, output=output, label=label, title=title)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed rounds (default: 10)")
    parser.add_argument("--baseline", default=BASELINE,
                        help=f"git revision of the old figure code (default: {BASELINE}); "
                             "'none' times only the current code")
    parser.add_argument("--out", default=None, help="keep the PNGs in this folder")
    args = parser.parse_args(argv)

    from siam_keras.plotting import plot_explanation

    explanation = demo_explanation()
    cases = {
        "640 x 480 photo": (photo(640, 480), "scenicness"),
        "480 x 640 photo (portrait)": (photo(480, 640), "scenicness"),
        "classification, 640 x 480": (photo(640, 480), "landscape"),
    }
    versions = {"new": plot_explanation}
    if args.baseline != "none":
        try:
            versions = {"old": baseline_module(args.baseline).plot_explanation, **versions}
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"No baseline ({MODULE} at {args.baseline}: {error}); timing the current code "
                  "only", file=sys.stderr)
    out = Path(args.out or tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for case, (pixels, output) in cases.items():
        times = {version: [] for version in versions}
        slug = case.split(",")[0].split(" (")[0].replace(" ", "")
        for _ in range(args.repeats + 1):  # the first round warms up (imports, fonts)
            for version, draw in versions.items():
                times[version].append(_seconds(draw, out / f"{slug}_{output}_{version}.png",
                                               pixels, explanation, output, f"{case}.jpg"))
        rows.append((case, {v: statistics.median(t[1:]) for v, t in times.items()}))
    header = f"{'case':<28}" + "".join(f"{v + ' s/figure':>16}" for v in versions)
    print(header + (f"{'speed-up':>10}" if "old" in versions else ""))
    for case, median in rows:
        line = f"{case:<28}" + "".join(f"{median[v]:>16.3f}" for v in versions)
        if "old" in versions:
            line += f"{median['old'] / median['new']:>9.1f}x"
        print(line)
    print(f"(median of {args.repeats} rounds; figures in {out})", file=sys.stderr)


if __name__ == "__main__":
    main()
