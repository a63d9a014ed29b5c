"""The edge runtime as a small wheel, written by the export next to the models.

`siam-keras-edge` holds the packages of `siam_keras` that need neither TensorFlow
nor Keras (`siam_keras.runtime`, `siam_keras.app`, `siam_keras.edge` and `siam_keras.vocabulary`),
and depends on NumPy, Pillow and ai-edge-litert alone; it installs the `siam-edge`
command. It is a subset of `siam_keras` (same import
paths), meant for devices without the full package.
"""

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import siam_keras
from siam_keras.runtime.atomic import write_bytes

DISTRIBUTION = "siam_keras_edge"
#: What the wheel holds: the runtime layer (with its JSON Schemas), the folder app, the
#: edge runtime and the vocabulary (no module that imports TensorFlow or Keras; a test
#: checks every import stays inside).
PACKAGES = ("runtime", "app", "edge")
TOP_LEVEL = ("__init__.py", "vocabulary.py")


def modules():
    """The wheel's modules, relative to the `siam_keras` folder, sorted."""
    source = Path(siam_keras.__file__).parent
    found = list(TOP_LEVEL)
    for package in PACKAGES:
        found += [path.relative_to(source).as_posix() for suffix in ("*.py", "*.schema.json")
                  for path in (source / package).rglob(suffix)]
    return tuple(sorted(found))


REQUIRES = ("numpy>=1.26,<3", "pillow>=10.0,<14", "ai-edge-litert>=2.3,<3")
#: Optional: `siam-edge explain --table x.parquet` (a .csv table needs nothing more).
EXTRAS = {"parquet": ("pyarrow>=14",)}


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wheel_name():
    """The wheel's file name: `siam_keras_edge-<version>-py3-none-any.whl`."""
    return f"{DISTRIBUTION}-{siam_keras.__version__}-py3-none-any.whl"


def write_edge_wheel(folder):
    """Writes `siam_keras_edge-<version>-py3-none-any.whl` into `folder`; returns its path."""
    version = siam_keras.__version__
    source = Path(siam_keras.__file__).parent
    info = f"{DISTRIBUTION}-{version}.dist-info"
    files = {f"siam_keras/{module}": (source / module).read_bytes() for module in modules()}
    files[f"{info}/METADATA"] = "\n".join([
        "Metadata-Version: 2.1", "Name: siam-keras-edge", f"Version: {version}",
        "Summary: The siam-keras edge runtime: explain SIAM models with LiteRT, no TensorFlow.",
        "Requires-Python: >=3.10", *[f"Requires-Dist: {r}" for r in REQUIRES],
        *[line for extra, requirements in EXTRAS.items()
          for line in (f"Provides-Extra: {extra}",
                       *[f'Requires-Dist: {r}; extra == "{extra}"' for r in requirements])], "",
    ]).encode()
    files[f"{info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: siam-keras export\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n").encode()
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\nsiam-edge = siam_keras.edge.cli:main\n"
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            wheel.writestr(entry, data)
    path = Path(folder) / wheel_name()
    write_bytes(path, buffer.getvalue())
    return path
