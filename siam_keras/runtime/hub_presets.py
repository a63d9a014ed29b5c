"""keras-hub names without keras-hub: which backbones are "hub:<preset>", which handles
are remote, and whether keras-hub is installed (config checks run before Keras loads)."""

import os

#: The prefix of a keras-hub backbone: "hub:<preset>" (`siam_keras.models.hub_backbones`).
HUB_PREFIX = "hub:"
#: Handles keras-hub downloads (everything else without a scheme is a name or a folder).
REMOTE_SCHEMES = ("kaggle://", "hf://", "modelscope://", "gs://")
#: What a keras-hub name without keras-hub installed is refused with.
HUB_EXTRA_MESSAGE = ("keras-hub is not installed; it is an optional extra: pip install "
                     "'siam-keras[hub]' (or pip install keras-hub)")


def is_hub_backbone(backbone):
    """Whether `backbone` names a keras-hub preset ("hub:<preset>")."""
    return isinstance(backbone, str) and backbone.startswith(HUB_PREFIX)


def is_remote(handle):
    """Whether keras-hub downloads `handle` (a `kaggle://`, `hf://`, ... handle)."""
    return str(handle).startswith(REMOTE_SCHEMES)


def is_local_path(handle):
    """Whether `handle` is written as a path (a folder), not a preset name or a handle."""
    text = os.fspath(handle)
    return not is_remote(text) and (os.sep in text or text.startswith((".", "~")))


def missing_preset_folder(backbone):
    """The message for a `"hub:<folder>"` backbone whose folder does not exist (None for a
    preset name, a remote handle, or a folder that is there)."""
    handle = os.path.expanduser(backbone[len(HUB_PREFIX):].strip())
    if not is_local_path(handle) or os.path.isdir(handle):
        return None
    return (f"keras-hub preset folder not found: {handle!r} (from backbone {backbone!r}). Pass "
            "a folder holding config.json, or a preset name such as 'hub:resnet_50_imagenet'.")


def keras_hub_installed():
    """Whether keras-hub can be imported (found without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec("keras_hub") is not None
    except (ImportError, ValueError):
        return False


def mentions_keras_hub(config_text):
    """Whether a serialised Keras config (JSON text or bytes) uses keras-hub classes."""
    marker = '"keras_hub'
    return (marker.encode() if isinstance(config_text, bytes) else marker) in config_text
