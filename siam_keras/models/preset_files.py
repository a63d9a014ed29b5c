"""A trained SIAM model as a keras-hub preset folder, shared and loaded like one.

The layout is keras-hub's (`save_to_preset` / `from_preset` of its models):

- `config.json`: the model, serialised by Keras (`serialize_keras_object`), without
  its compile settings (a preset is an inference model; compile it again to train);
- `model.weights.h5`: its weights (no optimizer state);
- `metadata.json`: the Keras, keras-hub and siam-keras versions, the parameter count,
  the date, and `siam_model`: the model's description as its export's sidecar gives
  it (`siam_model.json` less the export's own entries: signatures, TFLite variants,
  versions), so names, classes, tags and the head are readable without Keras.

A folder is written beside its destination and renamed into place (`replace_folder`):
a kill leaves the old preset or the new one. A remote handle (`kaggle://...`,
`hf://...`) is downloaded through keras-hub, which must be installed; a local folder
needs only Keras.
"""

import datetime
import json
import os
import shutil
from pathlib import Path

from siam_keras.runtime.atomic import replace_folder, write_json
from siam_keras.runtime.hub_presets import is_remote, mentions_keras_hub

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
#: The sidecar entries that describe an export, not the model: not in a preset.
EXPORT_ENTRIES = ("signatures", "exported_with", "tflite")
#: `metadata.json`'s entry that marks a SIAM preset (and holds its description).
DESCRIPTION = "siam_model"


def model_description(model):
    """The sidecar's description of a SIAM model (`siam_model.json` less `EXPORT_ENTRIES`)."""
    if not callable(getattr(model, "sidecar", None)):
        raise ValueError(f"Model {model.name!r} is a {type(model).__name__}, not a SIAMModel: "
                         "only a SIAM model is saved as a preset.")
    return {key: value for key, value in model.sidecar().to_json().items()
            if key not in EXPORT_ENTRIES}


def save_to_preset(model, folder):
    """Writes `model` (a `SIAMModel`) as a keras-hub preset in `folder`; returns its path.

    An existing SIAM preset in `folder` is replaced whole; anything else there (a file,
    a folder with other files, another model's preset) is refused (FileExistsError).
    """
    import keras

    import siam_keras

    folder = Path(folder)
    _check_replaceable(folder)
    description = model_description(model)
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(folder)
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        write_json(staging / CONFIG_FILE, config, indent=4)
        _uncompiled(model, config).save_weights(staging / WEIGHTS_FILE)
        write_json(staging / METADATA_FILE, {
            "keras_version": keras.__version__,
            "keras_hub_version": _keras_hub_version(),
            "siam_keras_version": siam_keras.__version__,
            "parameter_count": int(model.count_params()),
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            DESCRIPTION: description,
        }, indent=4)
        replace_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def load_from_preset(handle):
    """The SIAM model of a preset folder or handle written by `save_to_preset`.

    Raises:
        FileNotFoundError: a folder without the preset's files.
        ValueError: the preset holds another kind of model, or its files do not load.
    """
    import keras

    import siam_keras.layers  # noqa: F401  (registers the SIAM layers)
    import siam_keras.models  # noqa: F401

    config_file = _preset_file(handle, CONFIG_FILE)
    text = Path(config_file).read_text(encoding="utf-8")
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{config_file} is not JSON: {error}") from error
    kind = config.get("registered_name") if isinstance(config, dict) else None
    if kind != "siam_keras>SIAMModel":
        raise ValueError(f"The preset {os.fspath(handle)!r} holds a {kind or 'non-Keras'} model, "
                         "not a SIAM model. A keras-hub backbone preset is used as "
                         f"model.backbone = \"hub:{os.fspath(handle)}\".")
    if mentions_keras_hub(text):
        from siam_keras.models.hub_backbones import import_keras_hub

        import_keras_hub()
    try:
        model = keras.saving.deserialize_keras_object(config)
        model.load_weights(_preset_file(handle, WEIGHTS_FILE))
    except (ValueError, TypeError, KeyError, OSError) as error:
        raise ValueError(f"The preset {os.fspath(handle)!r} does not load: {error}") from error
    return model


def _check_replaceable(folder):
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"The preset folder is a file: pass a new or empty folder, or a "
                              f"SIAM preset folder to replace. Received: {folder}")
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    try:
        siam = DESCRIPTION in json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        siam = False
    if not siam:
        raise FileExistsError(f"{folder} holds files that are not a SIAM preset (only a folder "
                              "written by save_to_preset is replaced): pass a new or empty "
                              f"folder. Received: {folder}")


def _remove_stale_staging(folder):
    """Removes the staging folders of earlier writes that were killed (their process is
    gone); a live writer's is left alone."""
    for stale in folder.parent.glob(f".{folder.name}.*.tmp"):
        pid = stale.name[len(folder.name) + 2:-len(".tmp")]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _uncompiled(model, config):
    """`model`, or an uncompiled copy when it is compiled (its optimizer's state would
    be saved with its weights)."""
    import keras

    if getattr(model, "optimizer", None) is None:
        return model
    copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(model.get_weights())
    return copy


def _preset_file(handle, name):
    """The local path of the preset's file `name`: in a folder, or downloaded by keras-hub."""
    handle = os.fspath(handle)
    if not is_remote(handle):
        path = Path(handle).expanduser() / name
        if not path.is_file():
            raise FileNotFoundError(f"{handle!r} is not a preset folder: {name} is missing. Pass "
                                    "a folder written by save_to_preset (or siam-train with "
                                    "train.save_preset = true), or a kaggle:// or hf:// handle.")
        return path
    from siam_keras.models.hub_backbones import import_keras_hub

    try:
        import_keras_hub()
    except ImportError as error:
        raise ImportError(f"A remote preset ({handle}) is downloaded through keras-hub: "
                          f"{error}") from error
    from keras_hub.src.utils.preset_utils import get_file

    return get_file(handle, name)


def _keras_hub_version():
    """The installed keras-hub's version (None without it), without importing it."""
    from importlib import metadata

    try:
        return metadata.version("keras-hub")
    except metadata.PackageNotFoundError:
        return None
