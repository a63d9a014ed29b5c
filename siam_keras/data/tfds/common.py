"""What the manual-download TFDS builders share: the manual folder, and skipped files."""

from siam_keras.runtime.images import ImageError, read_photo


def manual_folder(dl_manager, reader):
    """`reader(dl_manager.manual_dir)`, TFDS' missing-folder assertion made a FileNotFoundError.

    TFDS asserts that the manual folder exists and is not empty (its message names
    the folder and repeats the instructions); `reader` then checks the files.
    """
    try:
        folder = dl_manager.manual_dir
    except AssertionError as error:
        raise FileNotFoundError(str(error)) from None
    return reader(folder)


def present_splits(paths_by_split, log=print):
    """The splits with at least one image on disk, in order.

    TFDS refuses a split that yields nothing; a small or partial download (a few
    photos fetched so far) can leave one empty, which is then left out, with a note.
    """
    kept = []
    for split, paths in paths_by_split.items():
        if any(path is not None and path.is_file() for path in paths):
            kept.append(split)
        else:
            log(f"split {split!r} left out: none of its {len(paths)} images is on disk")
    if not kept:
        raise FileNotFoundError("None of the listed images is on disk: check the images/ folder")
    return kept


class SkippedFiles:
    """Counts and names the images a build leaves out (missing, unreadable), per split.

    `report` ({"counts": {"<split>/<reason>": n}, "examples": {...: [up to 20 names]}})
    is filled while the examples are generated; a builder keeps it in its metadata.
    """

    def __init__(self, log=print):
        self.log = log
        self.report = {"counts": {}, "examples": {}}

    def photo(self, path, split, name=None):
        """The decoded (H, W, 3) pixels of `path`, or None (counted and reported).

        `path` None means the image was not found; `name` then says which.
        """
        if path is None or not path.is_file():
            self._skip(split, "missing", name or path)
            return None
        try:
            return read_photo(path).pixels
        except ImageError as error:
            self._skip(split, "unreadable", error)
            return None

    def _skip(self, split, reason, what):
        key = f"{split}/{reason}"
        self.report["counts"][key] = self.report["counts"].get(key, 0) + 1
        names = self.report["examples"].setdefault(key, [])
        if len(names) < 20:
            names.append(str(what))
        self.log(f"skipped ({reason}) {what}")
