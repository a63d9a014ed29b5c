"""`SavedModelTarget`: `saved_model/<N>/`, a SavedModel version for TensorFlow Serving."""

from export.targets.base import ExportTarget
from siam_keras import vocabulary
from siam_keras.runtime.sidecar import SIDECAR_NAME
from siam_keras.scoring.saved_model_explainer import SIDECAR_ASSET

#: The SavedModel's base folder in the export (TF Serving's model base path).
BASE = "saved_model"


class SavedModelTarget(ExportTarget):
    """`saved_model/<version>/` with the signatures `serving_default` (pixels) and
    `serve_image_bytes` (encoded images), its sidecar in `assets/` (`export.saved_model`).

    Written in place (a hidden folder renamed into place once checked), not staged.
    """

    name = "saved_model"
    description = (f"SavedModel for TF Serving ({vocabulary.PIXELS_SIGNATURE}, "
                   f"{vocabulary.BYTES_SIGNATURE})")
    checked_by = ("loaded back before it takes its name: both signatures must be there "
                  "(export.saved_model.write_saved_model); then told a SavedModel by ModelFile")
    model_kind = "saved_model"

    def outputs(self, context):
        return (f"{BASE}/{context.version}/",)

    def check(self, context):
        """Sets `context.version`; refuses an existing version without --overwrite, and
        one siam-export did not write in any case (`export.saved_model.check_version`)."""
        from export.saved_model import check_version

        config = context.config
        context.version = check_version(context.out / BASE, config.version, config.overwrite)

    def write(self, context):
        from export.saved_model import write_saved_model

        config = context.config
        write_saved_model(context.model, context.out / BASE, context.sidecar, context.version,
                          config.overwrite, config.max_pixels, context.log)

    def verify(self, context):
        from siam_keras.model_files import model_kind

        super().verify(context)
        folder = context.path(self.outputs(context)[0])
        if model_kind(folder) != self.model_kind or not (folder / SIDECAR_ASSET).is_file():
            raise RuntimeError(f"{folder} is no SavedModel with its assets/{SIDECAR_NAME}")
