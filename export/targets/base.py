"""`ExportTarget`: one part of an export (a SavedModel, TFLite models, a web page...).

Shaped as Model Garden's `export_base.ExportModule` and Beam's `ModelHandler`: the export
job (`export.run`) knows no target by name; it takes the targets `export.targets.TARGETS`
lists, in order, and calls the same methods on each. A new target is one subclass of
`ExportTarget`, added to `TARGETS`.
"""

import abc


class ExportTarget(abc.ABC):
    """One part of an export: what it writes, how it refuses early, writes, and is checked.

    `export.run.run` calls, with one `ExportContext` shared by all targets:

    1. `check` on every configured target (`wanted`), and `check_absent` on the others:
       cheap refusals (existing outputs without --overwrite, a missing LiteRT.js...),
       before any long work;
    2. `prepare` on every configured target: loading what `write` needs that can still
       refuse (too few calibration images), still before anything is written;
    3. for each configured target in turn, `[i/n] heading`, then `write`, then `verify`;
    4. `ExportContext.commit` (staged outputs take their names), then `absent` on the
       targets not configured (removing what an earlier export wrote for them).

    Attributes:
        name: its key in `export.targets.TARGETS`.
        description: one line saying what it writes (the `[i/n]` heading unless `heading`
            says more).
        checked_by: one line saying how what it writes is checked (in `write`, as it is
            written, or in `verify`, after).
        model_kind: the `siam_keras.model_files.MODEL_KINDS` name of the model files it
            writes (`ModelFile` loads them), or None: the two registries share the words.
        needs: names of the targets whose outputs it reads; they come before it.
    """

    name = ""
    description = ""
    checked_by = ""
    model_kind = None
    needs = ()

    @classmethod
    def wanted(cls, config):
        """Whether the `ExportConfig` asks for this target (default: always)."""
        return True

    def heading(self, context):
        """The `[i/n]` progress line (default: `description`)."""
        return self.description

    @abc.abstractmethod
    def outputs(self, context):
        """What it writes: paths relative to the export folder, in POSIX form; one ending
        in "/" is a folder written whole. Known once `check` has run."""

    @abc.abstractmethod
    def check(self, context):
        """Refuses (raises) what would fail after the long work; writes nothing."""

    def prepare(self, context):
        """Loads what `write` needs and may still refuse, after every target's `check`."""

    @abc.abstractmethod
    def write(self, context):
        """Writes the outputs (staged ones through `context.staged`) and logs progress."""

    def verify(self, context):
        """Checks what `write` wrote (default: every declared output is there).

        Raises:
            RuntimeError: an output is missing or wrong (a bug, not a user error).
        """
        missing = [name for name in self.outputs(context) if not context.path(name).exists()]
        if missing:
            raise RuntimeError(f"The {self.name} target did not write {', '.join(missing)}")

    def check_absent(self, context):
        """When not configured: refuses, before any work, what `absent` could not do."""

    def absent(self, context):
        """When not configured: cleans up after the export (e.g. removes an earlier
        export's output that no longer matches the new models)."""
