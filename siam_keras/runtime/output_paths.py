"""Where a command may write: the output-path policy every command follows.

- **An output is never an input.** `check_outputs` compares every output a command was
  given with every input (a manifest, a photo, a model, another output), as files:
  through symbolic links and hard links (the same device and inode), and by resolved
  path where the output does not exist yet. Its error names both flags.
- **A planted link is never followed.** Files are written beside their destination and
  renamed over it (`siam_keras.runtime.atomic`), which replaces a link instead of
  writing through it; the one file appended to in place, an explain run's progress log,
  is opened with `O_NOFOLLOW` (`append_line`).
- **A folder a command did not write is never removed or replaced**
  (`written_by_siam_keras`: each command recognises its own folders by what it writes
  into them).

URIs (`gs://...`) are compared as text: where they point cannot be resolved here.
"""

import os
from pathlib import Path

from siam_keras.runtime.uris import is_uri


class OutputPathError(ValueError):
    """An output that would replace an input or another output; the message says which."""


def _identity(path):
    """What makes two paths one file: (device, inode) where it exists (links of either
    kind lead there), else the resolved path; a URI as written."""
    if is_uri(path):
        return str(path)
    try:
        status = os.stat(path)
        return (status.st_dev, status.st_ino)
    except OSError:
        return os.path.realpath(path)


def same_file(first, second):
    """Whether two paths are the same file: one inode (links of either kind), or, where
    either does not exist, the same resolved path."""
    return _identity(first) == _identity(second)


def check_outputs(outputs, inputs):
    """Raises OutputPathError if an output is an input or another output.

    Args:
        outputs: {flag: path or None} of the files a command writes (None: not asked).
        inputs: {flag or description: a path, a list of paths, or None} of what it reads
            (one `os.stat` each: a million photos take a second or two).
    """
    written = {}
    for flag, path in outputs.items():
        if path is None:
            continue
        other = written.setdefault(_identity(path), flag)
        if other != flag:
            raise OutputPathError(f"{other} and {flag} are the same file "
                                  f"({outputs[other]}): give each output a name of its own.")
    for input_flag, paths in inputs.items():
        for path in ([paths] if isinstance(paths, (str, os.PathLike)) else paths or ()):
            flag = written.get(_identity(path))
            if flag is not None:
                raise OutputPathError(
                    f"{flag} {outputs[flag]} is {_what(input_flag, path)}: writing it "
                    "would replace your input. Choose another name.")


def _what(flag, path):
    return f"the input {flag}" if flag.startswith("--") else f"{flag} {path}"


def append_line(path, text):
    """Appends `text` and a newline to `path` (created 0o644), refusing to follow a
    symbolic link planted under its name (OSError naming the file)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, 0o644)
    except OSError as error:
        if Path(path).is_symlink():
            raise OSError(error.errno, f"{path} is a symbolic link; not followed "
                          "(remove it to write the log)") from None
        raise
    try:
        with os.fdopen(descriptor, "a", encoding="utf-8") as file:
            file.write(text + "\n")
    except OSError as error:  # a full disk: name the file
        raise OSError(error.errno, f"{path} cannot be written ({error.strerror or error})") \
            from None


def written_by_siam_keras(folder, marker):
    """Whether `folder` is one a siam-keras command wrote: it is a real folder (not a
    link) holding `marker`, the file that command always writes into it."""
    folder = Path(folder)
    return folder.is_dir() and not folder.is_symlink() and (folder / marker).is_file()
