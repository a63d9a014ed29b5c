"""The `[data]` table of a training run's `config.toml`, as `siam evaluate --config` and
`siam explain --config` read it (the library never imports the training pipeline)."""

import types
from pathlib import Path

import tomllib

from siam_keras.runtime.images import DEFAULT_MAX_PIXELS
from siam_keras.runtime.uris import is_uri

#: The keys a `[data.manifest]` table may leave out, and their values (immutable). The
#: one copy: `manifest_table` fills them in, training's `ManifestConfig` takes its
#: defaults from here.
MANIFEST_DEFAULTS = types.MappingProxyType({
    "image_column": "image", "attribute_columns": (), "outputs": types.MappingProxyType({}),
    "split_column": "", "latitude_column": "", "longitude_column": "",
    "max_pixels": DEFAULT_MAX_PIXELS})


def run_config_data(path):
    """The `[data]` table of a run's config.toml ({} for None).

    A manifest's relative `files` are made relative to the config file's folder, as
    `siam-train` reads them, so a config works from any folder.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: it is not TOML, or its `[data]` is not a table.
    """
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Config file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")).get("data", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a siam-train config.toml: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a siam-train config.toml: [data] is not a table. "
                         f"Received: {data!r}")
    resolve_manifest_files(data, path.parent)
    return data


def resolve_manifest_files(data, folder):
    """Makes the relative `manifest.files` of a config's `[data]` table (a dict, changed in
    place) relative to `folder`, the config file's: a config then works from any folder,
    and a run's own copy still finds them. URIs and absolute paths are kept."""
    manifest = data.get("manifest") if isinstance(data, dict) else None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if isinstance(files, list):
        manifest["files"] = [
            str((Path(folder) / f).resolve()) if isinstance(f, str) and f and not is_uri(f)
            and not Path(f).is_absolute() else f for f in files]


def manifest_table(data, path):
    """The `[data.manifest]` table of a manifest run's config (`data`: its `[data]` table
    as `run_config_data` reads it from `path`), with `MANIFEST_DEFAULTS` filled in; raises
    ValueError if it is not the config of a manifest run."""
    table = data.get("manifest") if data.get("dataset") == "manifest" else None
    if not isinstance(table, dict) or not table.get("files"):
        raise ValueError(f"{path} is not the config of a manifest run (expected data.dataset = "
                         f"\"manifest\" and [data.manifest] files. Received: dataset "
                         f"{data.get('dataset')!r})")
    return {**MANIFEST_DEFAULTS, **table}
