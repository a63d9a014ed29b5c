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

Each kind is a `ModelKind` class in the registry `MODEL_KINDS` (`matches`, `load`,
`describe`): `ModelFile` dispatches to it, so a new kind is one class. The export
targets (`export.targets`) name the kind they write with the same names.
"""

import dataclasses
import os
import posixpath
import tempfile

from siam_keras.runtime.sidecar import SIDECAR_NAME
from siam_keras.runtime.uris import is_uri

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


def _local_copy(uri, folder, name=None):
    """Copies a file at a URI into `folder`; returns the local path."""
    import tensorflow as tf

    local = os.path.join(folder, name or posixpath.basename(uri))
    tf.io.gfile.copy(uri, local, overwrite=True)
    return local


def _dirname(path):
    return posixpath.dirname(path) if is_uri(path) else os.path.dirname(path)


class ModelKind:
    """One kind of SIAM model file: how it is told apart, loaded and described.

    The kinds are classes with class methods only, listed in `MODEL_KINDS`; `ModelFile`
    dispatches to them and names none. A new kind is one subclass added there (the export
    targets name the kind they write with the same `name`).

    Attributes:
        name: its key in `MODEL_KINDS` (`ModelFile.kind`).
        description: what identifies it, for the error that lists the kinds.
        suffix: the file suffix that tells it apart without reading anything, or None
            for a kind told by what it holds (tried after the suffixes).
    """

    name = ""
    description = ""
    suffix = None

    @classmethod
    def matches(cls, path):
        """Whether `path` (which exists) is of this kind; by default, by its suffix."""
        return cls.suffix is not None and os.path.splitext(path)[1].lower() == cls.suffix

    @classmethod
    def near_miss(cls, path):
        """What to say of a path that is almost of this kind, or None."""
        return None

    @classmethod
    def load(cls, path, num_threads=None, command="this command"):
        """The explainer of the model at `path` (see `ModelFile.load`)."""
        raise NotImplementedError(f"{cls.__name__}.load")

    @classmethod
    def describe(cls, path, command="this command"):
        """(attribute_names, head, image_size) without running anything; by default from
        the loaded explainer."""
        explainer = cls.load(path, command=command)
        return tuple(explainer.attribute_names), explainer.head, tuple(explainer.image_size)


class SavedModelKind(ModelKind):
    """A SavedModel version folder written by siam-export: `SavedModelExplainer`."""

    name = "saved_model"
    description = "a SavedModel version folder (EXPORT_DIR/saved_model/<N>)"

    @classmethod
    def matches(cls, path):
        return _exists(_join(path, "saved_model.pb"))

    @classmethod
    def near_miss(cls, path):
        """A SavedModel base folder: named with its versions."""
        if is_uri(path) or not os.path.isdir(path):
            return None
        versions = sorted(name for name in os.listdir(path) if name.isdigit() and
                          os.path.isfile(os.path.join(path, name, "saved_model.pb")))
        if not versions:
            return None
        return (f"{path} holds SavedModel versions {versions}: give one version folder, e.g. "
                f"{os.path.join(path, versions[-1])}")

    @classmethod
    def load(cls, path, num_threads=None, command="this command"):
        from siam_keras.scoring.saved_model_explainer import SavedModelExplainer

        return SavedModelExplainer(path)

    @classmethod
    def describe(cls, path, command="this command"):
        from siam_keras.scoring.saved_model_explainer import SIDECAR_ASSET

        return _described(_join(path, SIDECAR_ASSET.replace(os.sep, "/")))


class TFLiteKind(ModelKind):
    """A `.tflite` file with its `siam_model.json` beside it: `EdgeExplainer` (LiteRT)."""

    name = "tflite"
    description = "a .tflite file with siam_model.json beside it"
    suffix = ".tflite"

    @classmethod
    def load(cls, path, num_threads=None, command="this command"):
        from siam_keras.edge import EdgeExplainer

        sidecar = None
        if is_uri(path):
            folder = tempfile.mkdtemp(prefix="siam-model-")
            sidecar = _local_copy(_join(_dirname(path), SIDECAR_NAME), folder)
            path = _local_copy(path, folder)
        kwargs = {} if num_threads is None else {"num_threads": num_threads}
        return EdgeExplainer(path, sidecar, **kwargs)

    @classmethod
    def describe(cls, path, command="this command"):
        # A local model is checked to be one the sidecar describes (not another export's).
        return _described(_join(_dirname(path), SIDECAR_NAME), None if is_uri(path) else path)


class KerasKind(ModelKind):
    """A `.keras` file: `SIAMExplainer` over `siam_keras.saving.load_model` (Keras)."""

    name = "keras"
    description = "a .keras file"
    suffix = ".keras"

    @classmethod
    def load(cls, path, num_threads=None, command="this command"):
        from siam_keras.explanations import SIAMExplainer
        from siam_keras.saving import load_model

        local = _local_copy(path, tempfile.mkdtemp(prefix="siam-model-")) if is_uri(path) else path
        try:
            return SIAMExplainer(load_model(local))
        except ValueError as error:
            raise ValueError(f"{path}: {error} {command} needs a SIAM model.") from None


def _described(sidecar_path, model_path=None):
    """`ModelKind.describe`'s answer from a sidecar; `model_path` must be one of its models."""
    from siam_keras.scoring.saved_model_explainer import read_sidecar

    sidecar = read_sidecar(sidecar_path)
    if model_path is not None:
        sidecar.variant_of(model_path)  # refuses a sidecar of another export
    return tuple(sidecar.attribute_names), sidecar.head, tuple(sidecar.image_size)


#: {name: kind}, in the order the error that lists them names them.
MODEL_KINDS = {kind.name: kind for kind in (SavedModelKind, TFLiteKind, KerasKind)}
#: The kinds, by what identifies them.
KINDS = {name: kind.description for name, kind in MODEL_KINDS.items()}


def model_kind(path):
    """The `MODEL_KINDS` name of a model path ("saved_model", "tflite", "keras"); raises
    otherwise. The kinds told by their suffix are tried first (nothing read), then the rest.

    Raises:
        FileNotFoundError: nothing is at `path`.
        ValueError: it is none of `MODEL_KINDS` (a SavedModel base folder is named as such,
            with its versions).
    """
    path = os.fspath(path).rstrip("/")
    if not _exists(path):
        raise FileNotFoundError(f"{path}: no such model file or folder")
    for kind in sorted(MODEL_KINDS.values(), key=lambda kind: kind.suffix is None):
        if kind.matches(path):
            return kind.name
    for kind in MODEL_KINDS.values():
        message = kind.near_miss(path)
        if message:
            raise ValueError(message)
    choices = "; ".join(kind.description for kind in MODEL_KINDS.values())
    raise ValueError(f"{path} is no SIAM model file. Expected one of: {choices}")


@dataclasses.dataclass(frozen=True)
class ModelFile:
    """A SIAM model file or folder: its path and kind, and how to load it.

    Args:
        path: a SavedModel version folder, a `.tflite` file (its `siam_model.json`
            beside it) or a `.keras` file; local, or a URI TensorFlow reads.

    Attributes:
        kind: its `MODEL_KINDS` name, which loads and describes it.

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
        return MODEL_KINDS[self.kind].load(self.path, num_threads, command)

    def describe(self, command="this command"):
        """(attribute_names, head, image_size) without running anything: from the
        sidecar of an exported model, by loading a `.keras` one (`command` is named if it
        is no SIAM model)."""
        return MODEL_KINDS[self.kind].describe(self.path, command)
