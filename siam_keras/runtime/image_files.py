"""Explaining image files in batches: one figure and one JSON file per image.

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

from siam_keras.runtime.atomic import write_json
from siam_keras.runtime.explanation import ExplanationError
from siam_keras.runtime.explanation_table import (
    TableWriter,
    explanation_row,
    table_columns,
)
from siam_keras.runtime.failing_alone import explain_each_alone_on_failure
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
from siam_keras.runtime.progress import Progress
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
    bad = {name: value for name, value in counts.items() if value < 1}
    if bad:
        flags = ", ".join(f"--{name.replace('_', '-')}={value}" for name, value in bad.items())
        raise ValueError(f"These must be positive integers. Received: {flags}")
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
        raise ValueError(f"Unknown --output {output!r}. The model's outputs: {', '.join(output_names)}")
    return output


def explanation_record(photo, explanation, index, model, location=None):
    """The JSON record of one explained photo (what both CLIs write); `location`
    (a `Location`) adds {"latitude", "longitude", "source"} as "location"."""
    record = {"image": display_path(photo.path), "model": display_path(model),
              "source": photo.source_json()}
    if location is not None:
        record["location"] = location.to_json()
    return {**record, **explanation.to_json(index)}


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
    out = Path(out_dir)
    locations = checked_locations(locations)
    height, width = explainer.image_size
    names, map_name = output_names(files, out), locations_name(out)
    progress = Progress(len(files), label)
    explained, failed, features = [], [], []

    def fail(path, reason):
        failed.append({"image": display_path(path), "error": reason})
        progress.say(f"skipped {reason}")
        progress.step(display_path(path))

    def write_summary():
        if features:
            log_output(out, {"locations": map_name})  # ours, even if killed right now
            write_locations(out / map_name, features)
        else:
            (out / map_name).unlink(missing_ok=True)  # an earlier run's (locations_name)
        summary = {"model": display_path(model), "num_images": len(files),
                   "num_explained": len(explained), "num_failed": len(failed),
                   "explained": explained, "failed": failed,
                   "locations": map_name if features else None}
        write_json(out / SUMMARY, summary)
        return summary

    def read(path):
        """(photo, model pixels) or the error, on a reader thread."""
        try:
            # At the model's scale, figures or not, so that the model sees the same pixels
            # either way (a figure then shows the reduced decode).
            photo = read_photo(path, max_pixels, target_size=(height, width))
            return photo, resize_for_model(photo, height, width)
        except (ImageError, FileNotFoundError) as error:
            return error, None

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=READER_THREADS)
    try:
        batches = [list(zip(files[i : i + batch_size], names[i : i + batch_size]))
                   for i in range(0, len(files), batch_size)]
        pending = [pool.submit(read, path) for path, _ in batches[0]] if batches else []
        for number, items in enumerate(batches):
            read_now = [future.result() for future in pending]
            # The next batch is read while this one is explained and written.
            pending = ([pool.submit(read, path) for path, _ in batches[number + 1]]
                       if number + 1 < len(batches) else [])
            batch, model_pixels = [], []
            for (path, name), (photo, resized) in zip(items, read_now):
                if resized is None:
                    fail(path, display_path(str(photo)))
                    continue
                batch.append((photo, name))
                model_pixels.append(resized)
            if not batch:
                continue
            pixels = np.stack(model_pixels)
            if number and len(pixels) < batch_size:  # one input shape: no new trace for the last
                pixels = np.concatenate([pixels, np.repeat(pixels[-1:], batch_size - len(pixels), 0)])
            results = list(zip(batch, explain_each_alone_on_failure(explainer, pixels, top_k)))
            for _, name in batch:  # listed before they exist: a kill leaves nothing unlisted
                log_output(out, {"json": f"{name}.json",
                                 "figure": f"{name}.png" if draw is not None else None})

            def drawn(item):
                """The figure of one image, on a drawing thread: None, or the error."""
                (photo, name), result = item
                if draw is None or isinstance(result, ExplanationError):
                    return None
                explanation, i = result
                try:
                    draw(out / f"{name}.png", photo.pixels, explanation, i,
                         output or explanation.output_names[0], top_k,
                         os.path.basename(display_path(photo.path)))
                except (OSError, ValueError, TypeError) as error:
                    return error
                return None

            figures = list(pool.map(drawn, results))  # NumPy, Pillow and zlib release the GIL
            for ((photo, name), result), figure_error in zip(results, figures):
                shown = display_path(photo.path)
                if isinstance(result, ExplanationError):
                    fail(photo.path, f"{shown}: its explanation does not add up ({result})")
                    continue
                explanation, i = result
                chosen = output or explanation.output_names[0]
                location = _photo_location(photo, locations)
                try:
                    if figure_error is not None:
                        raise figure_error
                    record = explanation_record(photo, explanation, i, model, location)
                    if draw is not None:
                        record["figure"] = f"{name}.png"
                    write_json(out / f"{name}.json", record, indent=None)
                except (OSError, ValueError, TypeError) as error:
                    (out / f"{name}.png").unlink(missing_ok=True)  # no figure without its JSON
                    fail(photo.path, f"{shown}: its results cannot be written ({error})")
                    continue
                explained.append({"image": shown, "json": f"{name}.json",
                                  "figure": record.get("figure"),
                                  **{key: entry["value"] for key, entry in record["outputs"].items()}})
                if OUT_OF_DISTRIBUTION in record:
                    flag = record[OUT_OF_DISTRIBUTION]
                    explained[-1][OUT_OF_DISTRIBUTION] = {key: flag[key]
                                                          for key in ("flagged", "distance")}
                if rows is not None:
                    rows.write(explanation_row(explanation, i, shown, location))
                log_output(out, explained[-1])
                if location is not None:
                    top = record["outputs"][chosen]["top_k"]
                    features.append(location_feature(location, {
                        "image": shown, "json": f"{name}.json",
                        chosen: record["outputs"][chosen]["value"],
                        "top_attribute": top[0]["attribute"] if top else None}))
                progress.step(shown)
    finally:  # also on an error or Ctrl-C: the photos not read yet are never read
        pool.shutdown(cancel_futures=True)
    progress.close()
    summary = write_summary()
    (out / PROGRESS_LOG).unlink(missing_ok=True)  # summary.json lists it all now
    return summary


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
