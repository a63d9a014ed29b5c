"""Writing results atomically, so a reader never sees a half-written file."""

import json
import os
from pathlib import Path


def write_bytes(path, data):
    """Writes `data` to `path` (creating its folder) via a temporary file beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path, data, indent=2):
    """Writes `data` as JSON to `path`, atomically."""
    write_bytes(path, (json.dumps(data, indent=indent, allow_nan=True) + "\n").encode("utf-8"))
