"""Explaining image files in batches: one figure and one JSON file per image.

Shared by `siam explain` (Keras) and `siam-edge explain` (LiteRT): reading (with
`siam_keras.images`), batching, reporting unreadable files by name and going on,
the JSON records and `summary.json`. NumPy and Pillow only.
"""

import os
import sys
from pathlib import Path

import numpy as np

from siam_keras.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    ImageError,
    find_images,
    read_photo,
    resize_for_model,
)
from siam_keras.jsonio import write_json

SUMMARY = "summary.json"


def checked_arguments(paths, **counts):
    """The image files of `paths`, after checking that every count is a positive integer.

    Raises ValueError naming the flags (`top_k=0` is reported as --top-k) or, when the
    paths hold no image, the paths; FileNotFoundError for a path that does not exist.
    """
    bad = {name: value for name, value in counts.items() if value < 1}
    if bad:
        flags = ", ".join(f"--{name.replace('_', '-')}={value}" for name, value in bad.items())
        raise ValueError(f"These must be positive integers. Received: {flags}")
    files = find_images(paths)
    if not files:
        raise ValueError(f"No {'/'.join(IMAGE_SUFFIXES)} images in {' '.join(map(str, paths))}")
    return files


def checked_output(output, output_names):
    """`output` if the model has it (None: the first is used later); raises otherwise."""
    if output is not None and output not in output_names:
        raise ValueError(f"Unknown --output {output!r}. The model's outputs: {', '.join(output_names)}")
    return output


def output_names(files):
    """One output name per file: its stem, made unique with -2, -3, ... in order."""
    taken, names = set(), []
    for path in files:
        name, n = Path(path).stem, 1
        while name in taken:
            n += 1
            name = f"{Path(path).stem}-{n}"
        taken.add(name)
        names.append(name)
    return names


def explanation_record(photo, explanation, index, model):
    """The JSON record of one explained photo (what both CLIs write)."""
    height, width = photo.pixels.shape[:2]
    return {"image": photo.path, "model": os.fspath(model),
            "source": {"format": photo.source_format, "mode": photo.source_mode,
                       "width": width, "height": height},
            **explanation.to_json(index)}


class Progress:
    """`[n/total] name` on one rewritten line of stderr, when stderr is a terminal."""

    def __init__(self, total, label, stream=None):
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, name):
        self.done += 1
        if self.live:
            self.stream.write(f"\r{self.label}: [{self.done}/{self.total}] {name[:60]:<60}")
            self.stream.flush()

    def say(self, text):
        if self.live:
            self.stream.write("\r" + " " * (len(self.label) + 80) + "\r")
        print(text, file=self.stream)

    def close(self):
        if self.live and self.done:
            self.stream.write("\n")


def explain_files(files, explainer, out_dir, model, draw=None, output=None, top_k=8,
                  batch_size=16, max_pixels=DEFAULT_MAX_PIXELS, label="explain"):
    """Explains each file into `out_dir`: `<name>.json`, `<name>.png` (if `draw`), summary.

    Args:
        files: image paths (`siam_keras.images.find_images`).
        explainer: `SIAMExplainer` or the edge runtime's: has `image_size` and is
            called on (B, H, W, 3) pixels with `top_k`, returning a `SIAMExplanation`.
        out_dir: the folder to write into (created).
        model: the model's path, recorded in every JSON file.
        draw: `draw(png_path, pixels, explanation, index, output, top_k, title)`, or
            None for JSON only.
        output: the output the figures explain (default: the first).
        top_k, batch_size, max_pixels: see the CLIs.
        label: shown in the progress line.

    Returns:
        The summary (also written to `summary.json`): counts, the files explained
        and, for each file that failed, its path and the reason.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    height, width = explainer.image_size
    names = output_names(files)
    progress = Progress(len(files), label)
    explained, failed = [], []
    for start in range(0, len(files), batch_size):
        batch = []
        for path, name in zip(files[start : start + batch_size], names[start : start + batch_size]):
            try:
                batch.append((read_photo(path, max_pixels), name))
            except (ImageError, FileNotFoundError) as error:
                failed.append({"image": str(path), "error": str(error)})
                progress.say(f"skipped {error}")
                progress.step(str(path))
        if not batch:
            continue
        pixels = np.stack([resize_for_model(photo.pixels, height, width) for photo, _ in batch])
        explanation = explainer(pixels, top_k=top_k)
        chosen = output or explanation.output_names[0]
        for i, (photo, name) in enumerate(batch):
            record = explanation_record(photo, explanation, i, model)
            if draw is not None:
                draw(out / f"{name}.png", photo.pixels, explanation, i, chosen, top_k,
                     os.path.basename(photo.path))
                record["figure"] = f"{name}.png"
            write_json(out / f"{name}.json", record, indent=1)
            explained.append({"image": photo.path, "json": f"{name}.json",
                              "figure": record.get("figure"),
                              chosen: record["outputs"][chosen]["value"]})
            progress.step(photo.path)
    progress.close()
    summary = {"model": os.fspath(model), "num_images": len(files), "num_explained": len(explained),
               "num_failed": len(failed), "explained": explained, "failed": failed}
    write_json(out / SUMMARY, summary)
    return summary


def report(summary, out_dir, stream=None):
    """Prints the outcome; returns the exit status (1 if any file failed)."""
    print(f"Explained {summary['num_explained']} of {summary['num_images']} images into "
          f"{out_dir}/ (JSON per image, {SUMMARY})")
    if summary["failed"]:
        stream = stream or sys.stderr
        print(f"{summary['num_failed']} failed:", file=stream)
        for failure in summary["failed"]:
            print(f"  {failure['error']}", file=stream)
        return 1
    return 0
