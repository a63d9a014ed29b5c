"""Writing results atomically, so a reader never sees a half-written file.

Every file siam-keras writes (JSON, figures, models, TFLite files, wheels) goes
through `atomic_output`, and folders written as a whole (a SavedModel version, the
TFLite models and their sidecar) through `replace_folder`. A file is written to a
hidden temporary file beside its destination and renamed over it only once
complete. A kill at any moment leaves either the old file or the new one, never a
truncated one; the temporary file of an interrupted write is removed (or, after a
hard kill, left hidden as `.<name>.<pid>.tmp<suffix>`).

JSON files never hold NaN or infinities, which are not JSON: an undefined number
(a Kendall's tau of constant predictions, say) is written as `null`.
"""

import contextlib
import errno
import json
import math
import os
import shutil
from pathlib import Path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: The errors of a disk that cannot take a file: they are raised naming it.
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


class WriteError(OSError):
    """A file that could not be written (a full disk, say); the message names it."""


@contextlib.contextmanager
def atomic_output(path):
    """Yields a temporary path beside `path` (same suffix) and renames it over `path`
    when the block ends without an exception; creates the folder if needed. A disk error
    in the block (full, read-only, over quota) is raised again as a `WriteError` naming
    `path`, its errno kept; other errors, and another file's `WriteError`, pass as they are."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    tmp.unlink(missing_ok=True)  # a stale one, or a link planted to redirect the write
    try:
        # Created exclusively, never through a link planted under the temporary name (a
        # writer then opens and truncates this file of ours).
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644))
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        if isinstance(error, WriteError) or error.errno not in _DISK_ERRORS:
            raise  # another file's, or not about writing: as it is
        raise WriteError(error.errno, f"{path} cannot be written ({error.strerror or error})") \
            from error
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def replace_folder(complete, final):
    """Moves the finished folder `complete` to `final`, replacing what was there.

    `final` is never half-written: it is the old folder until the new one, whole,
    takes its name (the old one is then removed).
    """
    final = Path(final)
    old = final.with_name(f".{final.name}.{os.getpid()}.old")
    if final.exists():
        os.rename(final, old)
    os.rename(complete, final)
    shutil.rmtree(old, ignore_errors=True)


def write_bytes(path, data):
    """Writes `data` to `path` atomically (creating its folder)."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def finite_json(value):
    """`value` with every non-finite float replaced by None (JSON's null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(item) for item in value]
    return value


def write_json(path, data, indent=2):
    """Writes `data` as JSON to `path`, atomically; NaN and infinities become null.

    `indent=None` writes it compactly, with Python's C encoder (several times faster for
    large files of numbers)."""
    try:
        text = json.dumps(data, indent=indent, allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere: the slower walk replaces them
        text = json.dumps(finite_json(data), indent=indent, allow_nan=False)
    write_bytes(path, (text + "\n").encode("utf-8"))
