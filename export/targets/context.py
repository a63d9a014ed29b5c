"""`ExportContext`: what the targets of one export share, and the staging they write into."""

import dataclasses
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from siam_keras.runtime.atomic import replace_folder

#: The hidden folder one export stages its outputs in until `ExportContext.commit`.
STAGING_PREFIX = ".export-"
#: The staging folders an export leaves after a hard kill (tempfile.mkdtemp's 8 random
#: characters, or replace_folder's `.<name>.<pid>.old`; `.tflite-*` from earlier versions):
#: removed by the next export.
STAGING = re.compile(r"\.(export|tflite|web)(-[a-z0-9_]{8}|\.[0-9]+\.old)")


@dataclasses.dataclass(eq=False)
class ExportContext:
    """What the targets of one export share: the inputs, and what earlier targets left.

    A target writes its outputs in place (atomically) or, where later targets add to them
    or several must change together (`tflite/` with its test vectors, and fidelity.json),
    into `staged(name)`: those take their names in `commit`, once every target has written.
    Use as a context manager: leaving it removes the staging folder.

    Attributes:
        config: the `ExportConfig`.
        out: the export folder.
        model: the SIAM Keras model (None in a context that only names outputs).
        sidecar: its `ModelSidecar`; the TFLite target adds the variants.
        log: prints progress.
        targets: the names of the configured targets, in order.
        warnings: warnings for fidelity.json (e.g. too few calibration images).
        version: the SavedModel version (its target's `check` sets it).
        calibration: the int8 calibration pixels, or None (the TFLite target's `prepare`).
        tflite_files: {variant: path} of the TFLite models written (the TFLite target).
        report: fidelity.json's dict (the TFLite target).
    """

    config: object
    out: Path
    model: object = None
    sidecar: object = None
    log: Callable = print
    targets: tuple = ()
    warnings: list = dataclasses.field(default_factory=list)
    version: int | None = None
    calibration: object = None
    tflite_files: dict = dataclasses.field(default_factory=dict)
    report: dict | None = None
    _staging: Path | None = dataclasses.field(default=None, init=False, repr=False)
    _staged: list = dataclasses.field(default_factory=list, init=False, repr=False)

    def __post_init__(self):
        self.out = Path(self.out)

    @functools.cached_property
    def holdout(self):
        """The held-out pixels (fidelity and test vectors), loaded once, when first asked."""
        from export.images import load_images

        config = self.config
        return load_images(config.holdout, self.sidecar.image_size, config.holdout_images,
                           "test", config.seed, self.log)

    def scratch(self, name):
        """A path in the staging folder for work files that are never moved into place."""
        if self._staging is None:
            self.out.mkdir(parents=True, exist_ok=True)
            self._staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out))
        return self._staging / name

    def staged(self, name):
        """Where a target writes `out/name` (a file or a folder), which `commit` moves
        into place: until then `path(name)` finds it there."""
        if name not in self._staged:
            self._staged.append(name)
        return self.scratch(name)

    def path(self, name):
        """Where `out/name` (a path relative to `out`) is now: staged, or in place."""
        top, _, rest = name.rstrip("/").partition("/")
        if top in self._staged and self._staging is not None:
            return self._staging / top / rest if rest else self._staging / top
        return self.out / name

    def commit(self):
        """Moves every staged output into place, each replacing the earlier one whole."""
        for name in self._staged:
            staged, final = self._staging / name, self.out / name
            if staged.is_dir():
                replace_folder(staged, final)
            elif staged.exists():
                os.replace(staged, final)
        self._staged.clear()

    def remove_staging_left(self):
        """Removes the staging folders a hard-killed export left in `out` (only their
        exact names: a user's `.web-backup` stays)."""
        if not self.out.is_dir():
            return
        for stale in self.out.iterdir():
            if STAGING.fullmatch(stale.name) and stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        self._staged.clear()
