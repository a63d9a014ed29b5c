"""`ModelSidecar`: what travels with an exported SIAM model, as one JSON file.

`siam-export` writes it (`siam_model.json`) beside the TFLite files and inside each
SavedModel version (the file `assets/siam_model.json`). The edge runtime and the
serving client read it: attribute and output names, the input size, how images are
prepared, the feature grid, the head's weights (for the exact spatial split of the
contributions, `siam_keras.runtime.decomposition`) and, per TFLite variant, the
tolerance its explanations are checked with. Reading needs only NumPy.
"""

import dataclasses
import functools
import hashlib
import os

from siam_keras.runtime.decomposition import HeadWeights, OutputHead
from siam_keras.runtime.images import RESAMPLING
from siam_keras.runtime.json_schema import load_schema, strict_json, validate
from siam_keras.runtime.output_kinds import KINDS
from siam_keras.runtime.training_distribution import TrainingDistribution

SIDECAR_NAME = "siam_model.json"
#: The formats, oldest first: a sidecar has the oldest that holds every output's kind
#: (`OutputKind.sidecar_format`: 1 regression, 2 classification, ...), so a reader of an
#: older format refuses a newer one by name instead of misreading it.
FORMATS = tuple(f"siam-keras-model/{n}"
                for n in range(1, max(kind.sidecar_format for kind in KINDS.values()) + 1))
FORMAT, CLASSES_FORMAT = FORMATS[:2]
#: How pixels reach the model; every siam-keras runtime does exactly this.
PREPROCESSING = {
    "decode": "upright RGB: EXIF orientation applied; grey, palette, CMYK and 16-bit "
              "converted; transparency composited over white (siam_keras.runtime.images.read_photo)",
    "resize": f"the whole image to the input size, Pillow {RESAMPLING.lower()} (antialiased); "
              "no crop",
    "pixels": "raw RGB values 0-255 as float32; scaling and normalisation are inside the model",
}


@functools.cache
def _schema():
    return load_schema("siam_model")


def file_sha256(path):
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class ModelSidecar:
    """An exported SIAM model's description.

    Attributes:
        name: the model's name.
        attribute_names, output_names: as the model's (each output's kind, and a
            labelled output's labels, are in its head, `head.output_kinds`).
        image_size: (height, width) of the input.
        head: `HeadWeights` of the SIAM head.
        variants: {TFLite variant: {"file": name, "sha256": the file's SHA-256 (how a
            runtime knows which variant it runs, whatever the file is called now),
            "tolerance": relative residual accepted when its explanations are checked,
            "max_abs_error": the largest differences from the Keras model measured on
            held-out images (`output`, `contribution`, `attribute_map`), ...}}.
        signatures: {signature: {"inputs": {...}, "outputs": [...]}} of the SavedModel.
        exported_with: {"tensorflow": version, "keras": version, "siam_keras":
            version} of the export (TF Serving's image should match TensorFlow's).
    """

    name: str
    attribute_names: tuple
    output_names: tuple
    image_size: tuple
    head: HeadWeights
    variants: dict = dataclasses.field(default_factory=dict)
    signatures: dict = dataclasses.field(default_factory=dict)
    exported_with: dict = dataclasses.field(default_factory=dict)

    def variant_of(self, model_path):
        """The name of the TFLite variant `model_path` is, identified by its SHA-256.

        Raises:
            ValueError: the file is none of the models this sidecar describes.
        """
        digest = file_sha256(model_path)
        for variant, entry in self.variants.items():
            if entry.get("sha256") == digest:
                return variant
        listed = ", ".join(f"{v} ({e.get('file')})" for v, e in self.variants.items()) or "none"
        raise ValueError(
            f"{model_path} is not one of the models this sidecar describes (variants: {listed}): "
            "a .tflite file and its siam_model.json must come from the same export. Pass the "
            "sidecar written with it (--sidecar), or export again.")

    @property
    def feature_grid(self):
        return tuple(self.head.feature_shape)

    def to_json(self):
        return {
            "format": FORMATS[self.head.sidecar_format - 1],
            "name": self.name,
            "attribute_names": list(self.attribute_names),
            "output_names": list(self.output_names),
            "input": {"name": "image", "height": self.image_size[0], "width": self.image_size[1],
                      "channels": 3, "dtype": "float32", "range": [0, 255]},
            "preprocessing": PREPROCESSING,
            "feature_grid": list(self.feature_grid),
            "signatures": self.signatures,
            "exported_with": self.exported_with,
            "tflite": self.variants,
            "head": {name: head.to_json() for name, head in self.head.outputs.items()},
            **({} if self.head.distribution is None
               else {"training_distribution": self.head.distribution.to_json()}),
        }

    @classmethod
    def from_json(cls, data, source="<sidecar>"):
        """The sidecar of a JSON document (a dict); `parse` checks a file's text against
        the JSON Schema first."""
        if not isinstance(data, dict) or data.get("format") not in FORMATS:
            raise ValueError(
                f"{source} is not a siam-keras model sidecar this version reads (expected "
                f"\"format\" one of {list(FORMATS)}. Received: "
                f"{data.get('format') if isinstance(data, dict) else type(data).__name__!r})"
            )
        try:
            head = HeadWeights(
                tuple(data["attribute_names"]),
                {name: OutputHead.from_json(h) for name, h in data["head"].items()},
                None if data.get("training_distribution") is None
                else TrainingDistribution.from_json(data["training_distribution"]),
            )
            if head.distribution is not None:
                head.distribution.check_attributes(head.attribute_names)
            return cls(name=data["name"], attribute_names=tuple(data["attribute_names"]),
                       output_names=tuple(data["output_names"]),
                       image_size=(int(data["input"]["height"]), int(data["input"]["width"])),
                       head=head, variants=dict(data.get("tflite", {})),
                       signatures=dict(data.get("signatures", {})),
                       exported_with=dict(data.get("exported_with", {})))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            raise ValueError(f"{source} is an incomplete or damaged sidecar: {error}") from None

    def save(self, path):
        from siam_keras.runtime.atomic import write_json

        write_json(path, self.to_json(), indent=1)

    @classmethod
    def load(cls, path):
        """Reads a sidecar file; raises FileNotFoundError or ValueError naming it."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Model sidecar not found: {path} (written by siam-export "
                                    f"as {SIDECAR_NAME} beside the model)")
        try:
            with open(path, "rb") as file:
                text = file.read()
        except OSError as error:
            raise ValueError(f"{path} cannot be read: {error}") from None
        return cls.parse(text, source=path)

    @classmethod
    def parse(cls, text, source="<sidecar>"):
        """The sidecar of a `siam_model.json` file's text (str or bytes), checked against
        its JSON Schema (`siam_keras/runtime/schemas/siam_model.schema.json`) before any
        value is used: a damaged or hostile file is one ValueError naming the field.
        NaN and Infinity (not JSON) are refused."""
        try:
            data = strict_json(text.decode("utf-8") if isinstance(text, bytes) else text)
        except (UnicodeDecodeError, ValueError) as error:
            raise ValueError(f"{source} is not readable JSON: {error}") from None
        if isinstance(data, dict) and data.get("format") in FORMATS:
            validate(data, _schema(), source)
        return cls.from_json(data, source=source)
