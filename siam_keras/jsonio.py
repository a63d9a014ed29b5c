"""Writing JSON results: atomically, so a reader never sees a half-written file."""

import json
import os
from pathlib import Path


def write_json(path, data, indent=2):
    """Writes `data` as JSON to `path` (creating its folder) via a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=indent, allow_nan=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
