"""The `--out` folder of the explain commands: never an input, never a user's file replaced.

Shared by `siam explain` and `siam-edge explain` (NumPy-free, standard library only):

- `--out` may not be an input folder, nor the folder of an input file (its figures would
  mix with the photos, and the next run would explain them); it may lie inside one, and
  is then never searched.
- Output names never replace a file the explain commands did not write: a name that
  is taken (a user's file, an input, `summary.json`'s name) gets `-2`, `-3`, ...;
  the files an earlier run listed in its `summary.json` are replaced by a rerun.
- The map of the photos' locations, `locations.geojson`, is named in `summary.json`
  and follows the same rules (`locations-2.geojson` beside a user's file of that name).
- Names are valid UTF-8 whatever the input's file name (a file name that is not
  UTF-8 shows as `\\xNN` in JSON and figures, and as `?` in output names).
"""

import json
import os
import tempfile
import unicodedata
from pathlib import Path

from siam_keras.runtime.output_paths import append_line, same_file

SUMMARY = "summary.json"
#: While a run goes on, each output is listed here before it is written (one JSON line
#: per image); summary.json replaces it at the end. After a kill it still says which
#: files the run wrote, so a rerun replaces them instead of avoiding their names.
PROGRESS_LOG = "summary.progress.jsonl"
SUFFIXES = (".json", ".png")
#: The GeoJSON map of the explained photos that have a location (see `locations_name`).
LOCATIONS = "locations.geojson"


class OutputFolderError(ValueError):
    """`--out` cannot be used; the message says why and what to do."""


def display_path(path):
    """`path` as text that is always valid UTF-8 (undecodable bytes as \\xNN)."""
    return os.fsencode(os.fspath(path)).decode("utf-8", errors="backslashreplace")


def printable(text):
    """`text` for a terminal or a log: control characters (an escape sequence in a file
    name that would clear the screen) shown as \\xNN, \\uNNNN or \\UNNNNNNNN; line
    breaks kept, each following line indented, so that no text can forge a line of its
    own."""
    def shown(c):
        if unicodedata.category(c)[0] != "C" or c == "\n":
            return c
        code = ord(c)
        return f"\\x{code:02x}" if code < 256 else (f"\\u{code:04x}" if code < 0x10000
                                                     else f"\\U{code:08x}")
    return "".join(map(shown, str(text))).replace("\n", "\n    ")


def _safe_stem(stem):
    text = os.fsencode(stem).decode("utf-8", errors="replace").replace("\ufffd", "?")
    return "".join("_" if unicodedata.category(c).startswith("C") else c for c in text) or "image"


def _names(entries):
    return {entry[key] for entry in entries for key in ("json", "figure", "locations")
            if isinstance(entry.get(key), str)}


def _logged_entries(folder):
    """The entries of `PROGRESS_LOG` (a line cut short by a kill is ignored)."""
    path = Path(folder) / PROGRESS_LOG
    entries = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
    return entries


def listed_outputs(folder):
    """The file names (lower case) explain runs listed in `folder` (`summary.json` and
    `PROGRESS_LOG`): None when there is neither, or a summary no explain run wrote."""
    folder = Path(folder)
    names, found = {SUMMARY, PROGRESS_LOG}, False
    if (folder / SUMMARY).is_file():
        try:
            summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
            names |= _names(summary["explained"]) | _names([summary])
            found = True
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
    logged = _logged_entries(folder)
    if logged or (folder / PROGRESS_LOG).is_file():
        names |= _names(logged)
        found = True
    return {name.lower() for name in names} if found else None


def log_output(out_dir, entry):
    """Appends one output's entry to `PROGRESS_LOG` (see there), never through a link
    planted under its name (`output_paths.append_line`)."""
    append_line(Path(out_dir) / PROGRESS_LOG, json.dumps(entry))


def _written_by_us(out):
    """The file names an earlier run listed in `out/summary.json` (so may replace)."""
    if (out / SUMMARY).exists() and listed_outputs(out) is None:
        raise OutputFolderError(
            f"--out {display_path(out)} holds a {SUMMARY} that no explain command wrote; it "
            "is left alone. Choose another folder.")
    return listed_outputs(out) or set()


def is_explain_output(path, cache=None):
    """Whether `path` is a figure or JSON file an explain run wrote (its folder's
    `summary.json` lists it): a later run over that folder must not explain it.
    `cache` (a dict) keeps each folder's list, read once for all its files."""
    folder = Path(path).parent
    cache = {} if cache is None else cache
    if folder not in cache:
        cache[folder] = listed_outputs(folder)
    return cache[folder] is not None and Path(path).name.lower() in cache[folder]


def prepare_output_folder(out_dir, inputs):
    """Creates `out_dir` after checking it can take outputs; returns it as a Path.

    Raises:
        OutputFolderError: `out_dir` is an input folder, a file, cannot be created or
            written, or holds a `summary.json` of someone else's.
    """
    out = Path(out_dir)
    for path in map(Path, inputs):
        folder = path if path.is_dir() else path.parent  # a photo's folder is an input folder
        if out.exists() and folder.exists() and same_file(folder, out):
            raise OutputFolderError(
                f"--out {display_path(out)} is an input folder"
                + ("" if path.is_dir() else f" (it holds {display_path(path.name)})")
                + ": the figures and JSON files would sit among (and could be taken for) your "
                "images, and the next run would explain them. Choose a folder of its own, e.g. "
                f"{display_path(out / 'explained')} (an --out inside an input folder is never "
                "searched for images).")
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {display_path(out)} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise OutputFolderError(f"--out {display_path(out)} cannot be written: "
                                f"{error.strerror or error}") from None
    _written_by_us(out)
    return out


def output_names(files, out_dir):
    """One output name per file, `<name>.json` and `<name>.png` free to write in `out_dir`.

    The name is the file's stem, made unique (case-insensitively, for the file systems
    that ignore case) with -2, -3, ... against each other, against `summary`, and
    against every file in `out_dir` that no earlier explain run wrote, and against the
    inputs that lie in `out_dir`.
    """
    out = Path(out_dir)
    ours = _written_by_us(out)
    taken = {p.name.lower() for p in out.iterdir()} - ours if out.is_dir() else set()
    taken.update((SUMMARY, PROGRESS_LOG))
    here = out.resolve()
    taken.update(Path(p).name.lower() for p in files if Path(p).resolve().parent == here)
    names = []
    for path in files:
        stem = _safe_stem(Path(path).stem)
        name, n = stem, 1
        while any(f"{name}{suffix}".lower() in taken for suffix in SUFFIXES):
            n += 1
            name = f"{stem}-{n}"
        taken.update(f"{name}{suffix}".lower() for suffix in SUFFIXES)
        names.append(name)
    return names


def locations_name(out_dir):
    """The name `LOCATIONS` is written under in `out_dir`: `locations.geojson`, or
    `locations-2.geojson`, ... when a file there that no explain run wrote has that
    name (case-insensitively). A file an earlier run wrote under it is replaced."""
    out = Path(out_dir)
    taken = {p.name.lower() for p in out.iterdir()} - _written_by_us(out) if out.is_dir() else set()
    stem, suffix = os.path.splitext(LOCATIONS)
    name, n = LOCATIONS, 1
    while name.lower() in taken:
        n += 1
        name = f"{stem}-{n}{suffix}"
    return name
