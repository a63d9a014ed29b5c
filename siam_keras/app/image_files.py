"""The folder app: explaining image files in batches, one figure and one JSON file each.

Shared by `siam explain` (Keras) and `siam-edge explain` (LiteRT): reading (with
`siam_keras.runtime.images`), batching, reporting each file that fails by name and going on
(unreadable, an explanation whose numbers do not add up, a figure or file that
cannot be written), the JSON records, `summary.json` and the map of the photos'
locations (`locations.geojson`), all in an `--out` folder that `output_folder` keeps
apart from the inputs. NumPy and Pillow only.
"""

import concurrent.futures
import os
import sys
from pathlib import Path

import numpy as np

from siam_keras.app.progress import Progress
from siam_keras.runtime.argument_validation import positive_ints
from siam_keras.runtime.atomic import write_json
from siam_keras.runtime.explanation import ExplanationError
from siam_keras.runtime.explanation_table import (
    TableWriter,
    explanation_row,
    table_columns,
)
from siam_keras.runtime.failing_alone import explain_each_alone_on_failure
from siam_keras.runtime.file_explanations import explanation_record
from siam_keras.runtime.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    ImageError,
    find_images,
    read_photo,
    resize_for_model,
)
from siam_keras.runtime.locations import (
    Location,
    exif_location,
    location_feature,
    write_locations,
)
from siam_keras.runtime.output_folder import (
    PROGRESS_LOG,
    SUMMARY,
    display_path,
    is_explain_output,
    locations_name,
    log_output,
    output_names,
    prepare_output_folder,
    printable,
)
from siam_keras.runtime.output_paths import check_outputs
from siam_keras.runtime.run_lock import RunLock
from siam_keras.vocabulary import OUT_OF_DISTRIBUTION

#: Threads decoding photos and drawing figures (Pillow, NumPy and zlib release the GIL).
READER_THREADS = 2


def checked_arguments(paths, out_dir, **counts):
    """The image files of `paths`, after checking the counts and the output folder.

    Checks that every count is a positive integer, and prepares `out_dir`
    (`output_folder.prepare_output_folder`: not an input folder, writable). Folders
    are searched without `out_dir` and without the figures an earlier explain run
    wrote (listed in their folder's `summary.json`); files named explicitly are kept.

    Raises ValueError naming the flags (`top_k=0` is reported as --top-k), the
    output folder's problem or, when the paths hold no image, the paths;
    FileNotFoundError for a path that does not exist.
    """
    positive_ints(**{f"--{name.replace('_', '-')}": value for name, value in counts.items()})
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{display_path(path)}: no such file or folder")
    out = prepare_output_folder(out_dir, paths)
    named, listed = {Path(path) for path in paths}, {}
    files = [path for path in find_images(paths, exclude=[out])
             if path in named or not is_explain_output(path, listed)]
    if not files:
        raise ValueError(f"No {'/'.join(IMAGE_SUFFIXES)} images in "
                         f"{' '.join(display_path(p) for p in paths)}")
    return files


def add_output_options(parser):
    """The `--figures` and `--table` options both explain commands share."""
    parser.add_argument("--figures", choices=["all", "none"], default="all",
                        help="draw a figure per image (all, the default) or none: the JSON files, "
                             "the table and summary.json only, several times faster")
    parser.add_argument("--table", metavar="FILE", default=None,
                        help="also write one row per image to FILE (.csv or .parquet): path, every "
                             "output's value, every contribution (<output>.<attribute>; "
                             "<output>.<class>.<attribute> for a classification output), the "
                             "attribute scores, the top-k attributes, latitude/longitude")


def checked_output(output, output_names):
    """`output` if the model has it (None: the first is used later); raises otherwise."""
    if output is not None and output not in output_names:
        raise ValueError(f"Unknown --output {output!r}. The model's outputs: "
                         f"{', '.join(output_names)}")
    return output


def checked_locations(locations):
    """{real path: Location} from {image path: (latitude, longitude) or Location};
    raises ValueError or TypeError naming the image whose location is invalid."""
    checked = {}
    for path, value in (locations or {}).items():
        try:
            if isinstance(value, Location):
                location = value
            elif isinstance(value, (tuple, list)) and len(value) == 2:
                location = Location(*value)
            else:
                raise TypeError(f"Expected a (latitude, longitude) pair. Received: {value!r}")
        except (ValueError, TypeError) as error:
            raise type(error)(f"{display_path(path)}: its location is invalid. {error}") from None
        checked[os.path.realpath(path)] = location
    return checked


def _photo_location(photo, locations):
    """The manifest's location of `photo`, else its EXIF GPS position, else None."""
    if os.path.realpath(photo.path) in locations:
        return locations[os.path.realpath(photo.path)]
    found = exif_location(photo)
    return None if found is None else Location(*found, source="exif")


def explain_files(files, explainer, out_dir, model, draw=None, output=None, top_k=8,
                  batch_size=16, max_pixels=DEFAULT_MAX_PIXELS, label="explain", locations=None,
                  table=None):
    """Explains each file into `out_dir`: `<name>.json`, `<name>.png` (if `draw`), summary
    and, when a photo has a location, `locations.geojson`.

    Args:
        files: image paths (`checked_arguments`).
        explainer: `SIAMExplainer` or the edge runtime's: has `image_size` and is
            called on (B, H, W, 3) pixels with `top_k`, returning a `SIAMExplanation`.
        out_dir: the folder to write into (`checked_arguments` prepared it).
        model: the model's path, recorded in every JSON file.
        draw: `draw(png_path, pixels, explanation, index, output, top_k, title)`, or
            None for JSON only.
        output: the output the figures explain (default: the first).
        top_k, batch_size, max_pixels: see the CLIs.
        label: shown in the progress line.
        locations: optional {image path: (latitude, longitude)} (e.g. a manifest's
            columns), checked before anything is written; they take precedence over
            the photos' EXIF GPS positions. Each record with a location holds
            "location": {"latitude", "longitude", "source": "manifest" or "exif"}.
        table: optional .csv or .parquet file: one row per explained image
            (`siam_keras.runtime.explanation_table`), written as the run goes and
            put in place at the end; never one of `files`.

    A second explain run into `out_dir` is refused while this one runs (`RunLock`).

    Returns:
        The summary (also written to `summary.json`): counts, the files explained,
        "locations": the GeoJSON map of those with a location (None when none has
        one) and, for each file that failed, its path and the reason. A file fails alone:
        unreadable, an explanation that does not add up (`ExplanationError`), or a
        figure or JSON file that cannot be written.
    """
    check_outputs({"--table": table}, {"an input image": list(files)})
    with RunLock(out_dir, label):  # a second explain run into this folder is refused
        return _explain_into(files, explainer, out_dir, model, draw, output, top_k, batch_size,
                             max_pixels, label, locations, table)


def _explain_into(files, explainer, out_dir, model, draw, output, top_k, batch_size, max_pixels,
                  label, locations, table):
    if table is not None:
        with TableWriter(table, table_columns(explainer.attribute_names, explainer.head)) as rows:
            summary = _explain_files(files, explainer, out_dir, model, draw, output, top_k,
                                     batch_size, max_pixels, label, locations, rows)
        summary["table"] = display_path(table)  # in place now: the table is complete
        write_json(Path(out_dir) / SUMMARY, summary)
        return summary
    return _explain_files(files, explainer, out_dir, model, draw, output, top_k, batch_size,
                          max_pixels, label, locations, None)


def _explain_files(files, explainer, out_dir, model, draw, output, top_k, batch_size, max_pixels,
                   label, locations, rows):
    """`explain_files`, with `rows` a `TableWriter` or None."""
    run = _FolderRun(files, explainer, Path(out_dir), model, draw=draw, output=output,
                     top_k=top_k, max_pixels=max_pixels, label=label,
                     locations=checked_locations(locations), rows=rows)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=READER_THREADS)
    try:
        batches = [list(zip(files[i : i + batch_size], run.names[i : i + batch_size]))
                   for i in range(0, len(files), batch_size)]
        pending = [pool.submit(run.read, path) for path, _ in batches[0]] if batches else []
        for number, items in enumerate(batches):
            read_now = [future.result() for future in pending]
            # The next batch is read while this one is explained and written.
            pending = ([pool.submit(run.read, path) for path, _ in batches[number + 1]]
                       if number + 1 < len(batches) else [])
            run.explain_batch(pool, items, read_now, padded_to=batch_size if number else None)
    finally:  # also on an error or Ctrl-C: the photos not read yet are never read
        pool.shutdown(cancel_futures=True)
    run.progress.close()
    summary = run.write_summary()
    (run.out / PROGRESS_LOG).unlink(missing_ok=True)  # summary.json lists it all now
    return summary


class _FolderRun:
    """One `explain_files` run's state and its steps: read a photo, explain a batch, draw
    its figures, write each photo's JSON, table row and map point, and the summary."""

    def __init__(self, files, explainer, out, model, *, draw, output, top_k, max_pixels, label,
                 locations, rows):
        self.files, self.explainer, self.out, self.model = files, explainer, out, model
        self.draw, self.output, self.top_k, self.max_pixels = draw, output, top_k, max_pixels
        self.locations, self.rows = locations, rows
        self.names, self.map_name = output_names(files, out), locations_name(out)
        self.progress = Progress(len(files), label)
        self.explained, self.failed, self.features = [], [], []

    def fail(self, path, reason):
        self.failed.append({"image": display_path(path), "error": reason})
        self.progress.say(f"skipped {reason}")
        self.progress.step(display_path(path))

    def write_summary(self):
        out = self.out
        if self.features:
            log_output(out, {"locations": self.map_name})  # ours, even if killed right now
            write_locations(out / self.map_name, self.features)
        else:
            (out / self.map_name).unlink(missing_ok=True)  # an earlier run's (locations_name)
        summary = {"model": display_path(self.model), "num_images": len(self.files),
                   "num_explained": len(self.explained), "num_failed": len(self.failed),
                   "explained": self.explained, "failed": self.failed,
                   "locations": self.map_name if self.features else None}
        write_json(out / SUMMARY, summary)
        return summary

    def read(self, path):
        """(photo, model pixels) or the error, on a reader thread."""
        height, width = self.explainer.image_size
        try:
            # At the model's scale, figures or not, so that the model sees the same pixels
            # either way (a figure then shows the reduced decode).
            photo = read_photo(path, self.max_pixels, target_size=(height, width))
            return photo, resize_for_model(photo, height, width)
        except (ImageError, FileNotFoundError) as error:
            return error, None

    def explain_batch(self, pool, items, read_now, padded_to=None):
        """Explains one batch of read photos, draws their figures (on `pool`) and writes
        each one's results; `padded_to`: the batch size the last batch is padded to (one
        input shape: no new trace for it)."""
        batch, model_pixels = [], []
        for (path, name), (photo, resized) in zip(items, read_now):
            if resized is None:
                self.fail(path, display_path(str(photo)))
                continue
            batch.append((photo, name))
            model_pixels.append(resized)
        if not batch:
            return
        pixels = np.stack(model_pixels)
        if padded_to and len(pixels) < padded_to:
            pixels = np.concatenate([pixels, np.repeat(pixels[-1:], padded_to - len(pixels), 0)])
        results = list(zip(batch, explain_each_alone_on_failure(self.explainer, pixels,
                                                                self.top_k)))
        for _, name in batch:  # listed before they exist: a kill leaves nothing unlisted
            log_output(self.out, {"json": f"{name}.json",
                                  "figure": f"{name}.png" if self.draw is not None else None})
        figures = list(pool.map(self.drawn, results))  # NumPy, Pillow, zlib release the GIL
        for item, figure_error in zip(results, figures):
            self.write_one(item, figure_error)

    def drawn(self, item):
        """The figure of one image, on a drawing thread: None, or the error."""
        (photo, name), result = item
        if self.draw is None or isinstance(result, ExplanationError):
            return None
        explanation, i = result
        try:
            self.draw(self.out / f"{name}.png", photo.pixels, explanation, i,
                      self.output or explanation.output_names[0], self.top_k,
                      os.path.basename(display_path(photo.path)))
        except (OSError, ValueError, TypeError) as error:
            return error
        return None

    def write_one(self, item, figure_error):
        """One photo's JSON file, table row and map point; it fails alone."""
        (photo, name), result = item
        shown = display_path(photo.path)
        if isinstance(result, ExplanationError):
            self.fail(photo.path, f"{shown}: its explanation does not add up ({result})")
            return
        explanation, i = result
        location = _photo_location(photo, self.locations)
        try:
            if figure_error is not None:
                raise figure_error
            record = explanation_record(photo, explanation, i, self.model, location)
            if self.draw is not None:
                record["figure"] = f"{name}.png"
            write_json(self.out / f"{name}.json", record, indent=None)
        except (OSError, ValueError, TypeError) as error:
            (self.out / f"{name}.png").unlink(missing_ok=True)  # no figure without its JSON
            self.fail(photo.path, f"{shown}: its results cannot be written ({error})")
            return
        self.explained.append(_summary_entry(shown, name, record))
        if self.rows is not None:
            self.rows.write(explanation_row(explanation, i, shown, location))
        log_output(self.out, self.explained[-1])
        if location is not None:
            self.features.append(self._feature(location, shown, name, record,
                                               self.output or explanation.output_names[0]))
        self.progress.step(shown)

    @staticmethod
    def _feature(location, shown, name, record, chosen):
        top = record["outputs"][chosen]["top_k"]
        return location_feature(location, {
            "image": shown, "json": f"{name}.json", chosen: record["outputs"][chosen]["value"],
            "top_attribute": top[0]["attribute"] if top else None})


def _summary_entry(shown, name, record):
    """A photo's entry in summary.json's `explained`."""
    entry = {"image": shown, "json": f"{name}.json", "figure": record.get("figure"),
             **{key: output["value"] for key, output in record["outputs"].items()}}
    if OUT_OF_DISTRIBUTION in record:
        flag = record[OUT_OF_DISTRIBUTION]
        entry[OUT_OF_DISTRIBUTION] = {key: flag[key] for key in ("flagged", "distance")}
    return entry


def report(summary, out_dir, stream=None):
    """Prints the outcome; returns the exit status (1 if any file failed)."""
    mapped = f", {summary['locations']}" if summary.get("locations") else ""
    print(f"Explained {summary['num_explained']} of {summary['num_images']} images into "
          f"{out_dir}/ (JSON per image, {SUMMARY}{mapped})")
    unlike = [entry["image"] for entry in summary["explained"]
              if entry.get(OUT_OF_DISTRIBUTION, {}).get("flagged")]
    if unlike:
        shown = ", ".join(printable(name) for name in unlike[:5])
        print(f"{len(unlike)} unlike the model's training photos (out_of_distribution in their "
              f"JSON; their explanations describe photos it never learned from): {shown}"
              + (f" and {len(unlike) - 5} more" if len(unlike) > 5 else ""))
    if summary["failed"]:
        stream = stream or sys.stderr
        print(f"{summary['num_failed']} failed:", file=stream)
        for failure in summary["failed"]:
            print(f"  {printable(failure['error'])}", file=stream)
        return 1
    return 0
