"""Scoring a folder of photos: where the time goes, each path side by side, one run.

On one folder of JPEGs (made from real photos: `photo_folder`, at least 640 x 480),
in this order, each as images per second and as a ratio to decode + forward:

- decode + resize (full decode), and decode at the model's scale + resize;
- the model's forward pass alone (batches of 16, pixels already in memory);
- decode + forward: the two above in sequence, the bar the others are measured by;
- `siam explain --figures none --table` (explain_files, no figures), and `--figures all`;
- `siam-edge explain` (int8 TFLite, overlays drawn), when an export is given or made;
- `siam score` on Apache Beam's local runner with 1 and 2 workers (when installed;
  a subprocess, so the times include starting Beam and loading the model).

The model is `--model` (default runs/demo/model.keras, or a fresh model of the demo's
architecture when absent: timing does not depend on the weights).

Usage: python -m benchmarks.scoring [--images 200] [--size 640x480] [--model M.keras]
       [--export DIR] [--no-edge] [--no-score] [--folder DIR]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def photo_folder(folder, count, size=(640, 480), seed=0):
    """`count` JPEGs of `size` made from the test suite's real photos (random crops of at
    least half of each side, flips, a little colour change), quality 90."""
    import numpy as np
    from PIL import Image, ImageEnhance

    from tests.real_photos import real_photos

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sources = [Image.open(path).convert("RGB") for path in real_photos()]
    for i in range(count):
        image = sources[i % len(sources)]
        width, height = image.size
        w, h = int(width * rng.uniform(0.5, 1.0)), int(height * rng.uniform(0.5, 1.0))
        x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        crop = image.crop((x, y, x + w, y + h)).resize(size, Image.LANCZOS)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        crop = ImageEnhance.Color(crop).enhance(rng.uniform(0.7, 1.3))
        crop.save(folder / f"photo_{i:04d}.jpg", quality=90)
    return sorted(folder.glob("*.jpg"))


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _model(path):
    from siam_keras.saving import load_model

    if path and os.path.isfile(path):
        return load_model(path), path
    from siam_keras import vocabulary
    from siam_keras.data import SyntheticScenes
    from training.builders import siam_model_from_config
    from training.config import load_config

    model = siam_model_from_config(load_config("training/configs/demo.toml"),
                                   SyntheticScenes.attribute_names, vocabulary.PAPER_OUTPUTS)
    return model, "the demo architecture, untrained"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200, help="photos (default: 200)")
    parser.add_argument("--size", default="640x480", help="photo size WxH (default: 640x480)")
    parser.add_argument("--model", default="runs/demo/model.keras", help="a SIAM .keras model")
    parser.add_argument("--export", default=None, help="its siam-export folder (default: made "
                        "in a temporary folder for the siam-edge row)")
    parser.add_argument("--folder", default=None, help="use this folder of photos as it is")
    parser.add_argument("--no-edge", action="store_true", help="leave out siam-edge")
    parser.add_argument("--no-score", action="store_true", help="leave out siam score (Beam)")
    args = parser.parse_args(argv)

    import numpy as np

    from siam_keras.app.image_files import explain_files
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.plotting import plot_explanation
    from siam_keras.runtime.images import read_photo, resize_for_model

    scratch = Path(tempfile.mkdtemp(prefix="scoring_"))
    width, height = map(int, args.size.lower().split("x"))
    files = (sorted(Path(args.folder).glob("*.jpg")) if args.folder
             else photo_folder(scratch / "photos", args.images, (width, height)))
    model, described = _model(args.model)
    side = model.input_shape[1]
    print(f"{len(files)} photos of {args.size}, model: {described} ({side} px)", flush=True)
    rows, quiet = {}, open(os.devnull, "w")

    def decode(target):
        return [resize_for_model(read_photo(path, target_size=target), side) for path in files]

    rows["decode + resize (full decode)"] = _timed(lambda: decode(None))
    rows["decode at scale + resize"] = _timed(lambda: decode(side))
    pixels = np.stack(decode(side)).astype("float32")
    model.predict_on_batch(pixels[:16])  # traced once, outside the timing
    rows["forward pass (batches of 16)"] = _timed(
        lambda: [model.predict_on_batch(pixels[i : i + 16]) for i in range(0, len(pixels), 16)])
    rows["decode + forward"] = rows["decode at scale + resize"] + rows["forward pass (batches of 16)"]
    explainer = SIAMExplainer(model)

    def explain(name, draw, table=None):
        out = scratch / name
        stderr, sys.stderr = sys.stderr, quiet
        try:
            return _timed(lambda: explain_files(files, explainer, out, "model", draw=draw,
                                                table=table))
        finally:
            sys.stderr = stderr

    def draw(path, photo, explanation, index, output, top_k, title):
        plot_explanation(path, photo, explanation, index, output=output, top_k=top_k, title=title)

    rows["siam explain --figures none --table"] = explain("none", None, scratch / "t.parquet")
    rows["siam explain --figures all"] = explain("all", draw)
    if not args.no_edge:
        rows["siam-edge explain (int8)"] = _edge(args, model, files, scratch, quiet)
    if not args.no_score:
        rows.update(_score(args, model, files, scratch))
    base = len(files) / rows["decode + forward"]
    print(f"\n{'path':<42} {'images/s':>9} {'x decode+forward':>17}")
    for name, seconds in rows.items():
        if seconds is None:
            print(f"{name:<42} {'-':>9} {'(not run)':>17}")
            continue
        rate = len(files) / seconds
        print(f"{name:<42} {rate:>9.1f} {rate / base:>17.2f}")
    shutil.rmtree(scratch, ignore_errors=True)


def _edge(args, model, files, scratch, quiet):
    from siam_keras.app.image_files import explain_files
    from siam_keras.edge import EdgeExplainer
    from siam_keras.edge.overlay import draw_overlay

    export = Path(args.export) if args.export else scratch / "export"
    if not args.export:
        from export.cli import main as export_main

        model_path = scratch / "model.keras"
        model.save(model_path)
        stdout, sys.stdout = sys.stdout, quiet
        try:
            export_main(["--model", str(model_path), "--out", str(export), "--tflite", "int8",
                         "--calibration-images", "100", "--holdout-images", "16",
                         "--latency-runs", "2"])
        finally:
            sys.stdout = stdout
    explainer = EdgeExplainer(export / "tflite" / "model_int8.tflite")
    stderr, sys.stderr = sys.stderr, quiet
    try:
        return _timed(lambda: explain_files(files, explainer, scratch / "edge", "int8",
                                            draw=draw_overlay))
    finally:
        sys.stderr = stderr


def _score(args, model, files, scratch):
    """`siam score` with 1 and 2 local workers (None where Beam is not installed)."""
    import importlib.util

    names = ["siam score, 1 local worker", "siam score, 2 local workers"]
    if importlib.util.find_spec("apache_beam") is None:
        return dict.fromkeys(names)
    model_path = scratch / "model.keras"
    if not model_path.exists():
        model.save(model_path)
    seconds = {}
    for workers, name in zip((1, 2), names):
        command = [sys.executable, "-m", "siam_keras.cli", "score", "--model", str(model_path),
                   "--input", str(files[0].parent / "*.jpg"),
                   "--output", str(scratch / f"score{workers}.parquet"),
                   "--direct_num_workers", str(workers),
                   "--direct_running_mode", "multi_processing"]
        seconds[name] = _timed(lambda: subprocess.run(command, check=True, capture_output=True))
    return seconds


if __name__ == "__main__":
    main()
