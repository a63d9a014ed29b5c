"""What `siam score` scores: the photos of a manifest or of a file pattern, as `ImageItem`s.

INPUT is either a manifest (`.csv`, `.tsv`, `.parquet`, `.jsonl`, `.ndjson`: read with
`siam_keras.data.manifest.read_manifests`, only the image column needed, the rows'
latitude/longitude carried when their columns are named) or a file pattern: a local
glob (`photos/**/*.jpg`; a folder is searched recursively for image files) or a
pattern `tf.io.gfile.glob` expands (`gs://bucket/photos/*.jpg`). A manifest given as a
URI is copied locally to be read; its relative image paths stay relative to its own
folder. The list is made once, by the program that launches the pipeline; the
photos are read by the workers (`siam_keras.scoring.photo_reader`).
"""

import dataclasses
import glob
import os
import posixpath
import shutil
import tempfile
from pathlib import Path

from siam_keras.data.manifest.tables import SUFFIXES as MANIFEST_SUFFIXES
from siam_keras.runtime.images import find_images
from siam_keras.runtime.output_folder import display_path, output_names
from siam_keras.runtime.uris import is_uri


@dataclasses.dataclass(frozen=True)
class ImageItem:
    """One photo to score.

    Attributes:
        image: its path or URI (what the table's `image` column shows).
        location: (latitude, longitude) from the manifest, or None (the photo's EXIF
            GPS position is used then, as `siam explain` does).
        json_name: the name of its explanation JSON file (without `.json`), unique in
            the run, or None when no JSON files are written.
    """

    image: str
    location: tuple | None = None
    json_name: str | None = None


@dataclasses.dataclass(frozen=True)
class InputProblem:
    """A manifest row left out before any photo is read: where it is, and why."""

    image: str
    reason: str


def is_manifest(path):
    """Whether INPUT names a manifest file (by its suffix) rather than photos."""
    return os.path.splitext(os.fspath(path))[1].lower() in MANIFEST_SUFFIXES


def list_inputs(path, image_column="image", latitude_column=None, longitude_column=None,
                explanations=None):
    """The photos of INPUT: `(items, problems)`.

    Args:
        path: a manifest file or a file pattern (see the module docstring).
        image_column, latitude_column, longitude_column: a manifest's columns.
        explanations: the folder the JSON files will be written to, or None: gives
            each item a unique `json_name` (its file's stem, then -2, -3, ... as
            `siam explain` names them).

    Returns:
        items: `ImageItem`s, in manifest order or sorted by path.
        problems: an `InputProblem` per manifest row left out (no image, an unusable
            reference or location, a photo listed twice).

    Raises:
        FileNotFoundError: the manifest does not exist, or nothing matches the pattern.
        ManifestError: the manifest is unusable as a whole (its message says why).
    """
    path = os.fspath(path)
    if is_manifest(path):
        items, problems = _manifest_items(path, image_column, latitude_column, longitude_column)
    else:
        items, problems = [ImageItem(image) for image in _matching(path)], []
    if explanations is not None:
        # A URI folder is no local folder: only the names among themselves are made unique.
        names = output_names([item.image for item in items], explanations)
        items = [dataclasses.replace(item, json_name=name) for item, name in zip(items, names)]
    return items, problems


def _matching(pattern):
    """The image files a pattern, or a folder, names: sorted paths or URIs."""
    if is_uri(pattern):
        import tensorflow as tf

        found = sorted(path for path in tf.io.gfile.glob(pattern)
                       if not tf.io.gfile.isdir(path))
    elif os.path.isdir(pattern):
        found = [os.fspath(p) for p in find_images([pattern])]
    else:
        found = sorted(path for path in glob.glob(pattern, recursive=True)
                       if os.path.isfile(path))
    if not found:
        raise FileNotFoundError(f"No files match {display_path(pattern)}")
    return found


def _manifest_items(path, image_column, latitude_column, longitude_column):
    from siam_keras.data.manifest.reading import read_manifests
    from siam_keras.data.manifest.rows import where

    local, folder = path, None
    if is_uri(path):
        folder = tempfile.mkdtemp(prefix="siam-score-")
        local = _copy_manifest(path, folder)
    try:
        rows, row_problems = read_manifests(local, image_column, [], {}, None, latitude_column,
                                            longitude_column, require_labels=False)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    remote = posixpath.dirname(path) if folder is not None else None

    def image(row):
        if remote is not None and row.image.startswith(folder + os.sep):
            relative = Path(row.image).relative_to(folder).as_posix()
            return posixpath.join(remote, relative)  # relative to the remote manifest
        return row.image

    def shown(source):
        return path if folder is not None else source

    items = [ImageItem(image(row), row.location) for row in rows]
    problems = [InputProblem(f"{shown(p.source)}{where(p.source, p.line)}", p.message)
                for p in row_problems]
    return items, problems


def _copy_manifest(uri, folder):
    import tensorflow as tf

    if not tf.io.gfile.exists(uri):
        raise FileNotFoundError(f"{uri}: no such manifest file")
    local = os.path.join(folder, posixpath.basename(uri))
    tf.io.gfile.copy(uri, local, overwrite=True)
    return local
