"""A trained SIAM model as a keras-hub preset folder, shared and loaded like one.

The layout is keras-hub's (`save_to_preset` / `from_preset` of its models):

- `config.json`: the model, serialised by Keras (`serialize_keras_object`);
- `model.weights.h5`: its weights;
- `metadata.json`: the Keras, keras-hub and siam-keras versions, the parameter count,
  the date, and `siam_model`: the model's description as its export's sidecar gives
  it (`siam_model.json` less the export's own entries: signatures, TFLite variants,
  versions), so names, classes, tags and the head are readable without Keras.

A folder is written whole or not at all (`replace_folder`). A remote handle
(`kaggle://...`, `hf://...`) is downloaded through keras-hub, which must be installed;
a local folder needs only Keras.
"""

import datetime
import json
import os
import shutil
from pathlib import Path

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
#: The sidecar entries that describe an export, not the model: not in a preset.
EXPORT_ENTRIES = ("signatures", "exported_with", "tflite")


def model_description(model):
    """The sidecar's description of a SIAM model (`siam_model.json` less `EXPORT_ENTRIES`)."""
    from siam_keras.runtime.decomposition import HeadWeights
    from siam_keras.runtime.sidecar import ModelSidecar

    layer = getattr(model, "siam_head", None)
    if layer is None:
        raise ValueError(f"Model {model.name!r} is a {type(model).__name__}, not a SIAMModel: "
                         "only a SIAM model is saved as a preset.")
    sidecar = ModelSidecar(name=model.name, attribute_names=tuple(layer.attribute_names),
                           output_names=tuple(layer.output_names),
                           image_size=tuple(int(d) for d in model.input_shape[1:3]),
                           head=HeadWeights.from_layer(layer))
    return {key: value for key, value in sidecar.to_json().items() if key not in EXPORT_ENTRIES}


def save_to_preset(model, folder):
    """Writes `model` (a `SIAMModel`) as a keras-hub preset in `folder`; returns its path.

    An existing preset in `folder` is replaced whole; any other non-empty folder is
    refused (FileExistsError), so a typo never overwrites someone's files.
    """
    import keras

    import siam_keras

    folder = Path(folder)
    if folder.is_dir() and any(folder.iterdir()) and not (folder / CONFIG_FILE).is_file():
        raise FileExistsError(f"{folder} is a folder that holds no preset: pass an empty or new "
                              "folder, or a preset folder to replace")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        _write_json(staging / CONFIG_FILE, keras.saving.serialize_keras_object(model))
        model.save_weights(staging / WEIGHTS_FILE)
        _write_json(staging / METADATA_FILE, {
            "keras_version": keras.__version__,
            "keras_hub_version": _keras_hub_version(),
            "siam_keras_version": siam_keras.__version__,
            "parameter_count": int(model.count_params()),
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "siam_model": model_description(model),
        })
        from siam_keras.runtime.atomic import replace_folder

        replace_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def load_from_preset(handle):
    """The SIAM model of a preset folder or handle written by `save_to_preset`."""
    import keras

    import siam_keras.layers  # noqa: F401  (registers the SIAM layers)
    import siam_keras.models  # noqa: F401

    config_file, weights_file = _preset_file(handle, CONFIG_FILE), _preset_file(handle,
                                                                                WEIGHTS_FILE)
    text = Path(config_file).read_text(encoding="utf-8")
    if '"keras_hub' in text:
        from siam_keras.models.hub_backbones import import_keras_hub

        import_keras_hub()
    try:
        model = keras.saving.deserialize_keras_object(json.loads(text))
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{config_file} does not describe a model siam-keras can build: "
                         f"{error}") from None
    model.load_weights(weights_file)
    return model


def read_metadata(handle):
    """The preset's `metadata.json`, as a dict."""
    return json.loads(Path(_preset_file(handle, METADATA_FILE)).read_text(encoding="utf-8"))


def _preset_file(handle, name):
    """The local path of the preset's file `name`: in a folder, or downloaded by keras-hub."""
    handle = os.fspath(handle)
    if "://" not in handle:
        path = Path(handle) / name
        if not path.is_file():
            raise FileNotFoundError(f"{handle!r} is not a preset folder: {name} is missing. Pass "
                                    "a folder written by save_to_preset (or siam-train with "
                                    "train.save_preset = true), or a kaggle:// or hf:// handle.")
        return path
    from siam_keras.models.hub_backbones import import_keras_hub

    import_keras_hub()
    from keras_hub.src.utils.preset_utils import get_file

    return get_file(handle, name)


def _keras_hub_version():
    """The installed keras-hub's version (None without it), without importing it."""
    from importlib import metadata

    try:
        return metadata.version("keras-hub")
    except metadata.PackageNotFoundError:
        return None


def _write_json(path, data):
    path.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
