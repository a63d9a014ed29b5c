"""`ModelFile`: the three kinds of SIAM model file every command takes, told apart and loaded.

- a SavedModel version folder (`EXPORT_DIR/saved_model/<N>/`, with the sidecar
  `assets/siam_model.json`): `SavedModelExplainer` (TensorFlow);
- a `.tflite` file with its `siam_model.json` beside it: `EdgeExplainer` (LiteRT);
- a `.keras` file: `SIAMExplainer` over `siam_keras.saving.load_model` (Keras).

Each loads into an explainer with the same interface (`image_size`, `attribute_names`,
`head`, `predict`, called on pixels with `top_k`), so `siam explain`, `siam evaluate`
and `siam score` take the same `--model` and treat the kinds alike. A model given
as a URI (gs://, ...) is read through `tf.io.gfile`; a `.keras` or `.tflite` one is
first copied to a local temporary folder (Keras and LiteRT read local files).
"""

import dataclasses
import os
import posixpath
import tempfile

from siam_keras.runtime.sidecar import SIDECAR_NAME
from siam_keras.runtime.uris import is_uri

#: The kinds, by what identifies them.
KINDS = {"saved_model": "a SavedModel version folder (EXPORT_DIR/saved_model/<N>)",
         "tflite": "a .tflite file with siam_model.json beside it",
         "keras": "a .keras file"}
#: The `--model` help of every command that takes a SIAM model file.
MODEL_HELP = ("the SIAM model: a .keras file, a SavedModel version folder written by siam-export "
              "(EXPORT_DIR/saved_model/<N>, with its assets/siam_model.json) or a .tflite file "
              "with its siam_model.json beside it")


def _join(folder, name):
    return posixpath.join(folder, name) if is_uri(folder) else os.path.join(folder, name)


def _exists(path):
    if is_uri(path):
        import tensorflow as tf

        return tf.io.gfile.exists(path)
    return os.path.exists(path)


def model_kind(path):
    """"saved_model", "tflite" or "keras" for a model path; raises otherwise.

    Raises:
        FileNotFoundError: nothing is at `path`.
        ValueError: it is none of `KINDS` (a SavedModel base folder is named as such,
            with its versions).
    """
    path = os.fspath(path).rstrip("/")
    if not _exists(path):
        raise FileNotFoundError(f"{path}: no such model file or folder")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".keras":
        return "keras"
    if suffix == ".tflite":
        return "tflite"
    if _exists(_join(path, "saved_model.pb")):
        return "saved_model"
    if not is_uri(path) and os.path.isdir(path):
        versions = sorted(name for name in os.listdir(path) if name.isdigit() and
                          os.path.isfile(os.path.join(path, name, "saved_model.pb")))
        if versions:
            raise ValueError(f"{path} holds SavedModel versions {versions}: give one version "
                             f"folder, e.g. {os.path.join(path, versions[-1])}")
    choices = "; ".join(KINDS.values())
    raise ValueError(f"{path} is no SIAM model file. Expected one of: {choices}")


def _local_copy(uri, folder, name=None):
    """Copies a file at a URI into `folder`; returns the local path."""
    import tensorflow as tf

    local = os.path.join(folder, name or posixpath.basename(uri))
    tf.io.gfile.copy(uri, local, overwrite=True)
    return local


@dataclasses.dataclass(frozen=True)
class ModelFile:
    """A SIAM model file or folder: its path and kind, and how to load it.

    Args:
        path: a SavedModel version folder, a `.tflite` file (its `siam_model.json`
            beside it) or a `.keras` file; local, or a URI TensorFlow reads.

    Raises:
        FileNotFoundError, ValueError: see `model_kind`.

    Example:
    >>> model = ModelFile("export/saved_model/1")
    >>> explainer = model.load()
    >>> explanation = explainer(pixels, top_k=8)
    """

    path: str
    kind: str = dataclasses.field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "path", os.fspath(self.path).rstrip("/"))
        object.__setattr__(self, "kind", model_kind(self.path))

    def load(self, num_threads=None, command="this command"):
        """The model's explainer (`SavedModelExplainer`, `EdgeExplainer` or `SIAMExplainer`).

        Args:
            num_threads: LiteRT's CPU threads for a `.tflite` model (None: its default).
            command: named in the error for a `.keras` model that is no SIAM model.

        Raises:
            ValueError: the file is no SIAM model, or the sidecar does not describe it.
            ImportError: naming the package a kind needs (ai-edge-litert for .tflite).
        """
        if self.kind == "saved_model":
            from siam_keras.scoring.saved_model_explainer import SavedModelExplainer

            return SavedModelExplainer(self.path)
        path, sidecar = self.path, None
        if is_uri(path):
            folder = tempfile.mkdtemp(prefix="siam-model-")
            if self.kind == "tflite":
                sidecar = _local_copy(_join(posixpath.dirname(path), SIDECAR_NAME), folder)
            path = _local_copy(path, folder)
        if self.kind == "tflite":
            from siam_keras.edge import EdgeExplainer

            kwargs = {} if num_threads is None else {"num_threads": num_threads}
            return EdgeExplainer(path, sidecar, **kwargs)
        from siam_keras.explanations import SIAMExplainer
        from siam_keras.saving import load_model

        try:
            return SIAMExplainer(load_model(path))
        except ValueError as error:
            raise ValueError(f"{self.path}: {error} {command} needs a SIAM model.") from None

    def describe(self, command="this command"):
        """(attribute_names, head, image_size) without running anything: from the
        sidecar of an exported model, by loading a `.keras` one (`command` is named if it
        is no SIAM model)."""
        if self.kind == "saved_model":
            from siam_keras.scoring.saved_model_explainer import SIDECAR_ASSET, read_sidecar

            sidecar = read_sidecar(_join(self.path, SIDECAR_ASSET.replace(os.sep, "/")))
        elif self.kind == "tflite":
            from siam_keras.scoring.saved_model_explainer import read_sidecar

            folder = posixpath.dirname(self.path) if is_uri(self.path) else os.path.dirname(
                self.path)
            sidecar = read_sidecar(_join(folder, SIDECAR_NAME))
            if not is_uri(self.path):
                sidecar.variant_of(self.path)  # refuses a sidecar of another export
        else:
            explainer = self.load(command=command)
            return tuple(explainer.attribute_names), explainer.head, tuple(explainer.image_size)
        return tuple(sidecar.attribute_names), sidecar.head, tuple(sidecar.image_size)
