"""The run folder (`--out`): what a run writes there, resuming it, and replacing it safely.

A run writes only the entries of `RUN_ENTRIES` (and hidden temporary files beside
them while they are written). Restarting it resumes where it stopped, but only with
the config it started with (kept in `config.toml`): a different config would go on
from weights trained for another one, so it is refused, naming the keys that differ.
`--overwrite` starts over: it removes the run's own entries and nothing else, so a
folder shared with other files keeps them.
"""

import shutil
from pathlib import Path

from siam_keras.runtime.atomic import write_bytes
from siam_keras.runtime.run_lock import LOCK_NAME
from training.config import ConfigError, config_to_toml, flat_items, load_config

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.json"
#: The keras-hub preset folder of the kept SIAM model (`train.save_preset`).
PRESET_FOLDER = "preset"
#: Everything a run writes into its folder (`baseline/` and `attribute_stage/` are stages).
RUN_ENTRIES = ("model.keras", "history.csv", METRICS_FILE, CONFIG_FILE, "attribute_maps.png",
               "tensorboard", "checkpoints", "baseline", "attribute_stage", PRESET_FOLDER)


class RunFolderError(FileExistsError):
    """`--out` holds something the run must not resume or replace; the message says what."""


def config_differences(old, new):
    """["table.key (old -> new)", ...] for every value that differs between two configs."""
    before, after = flat_items(old), flat_items(new)
    return [f"{key} ({before.get(key)!r} -> {value!r})" for key, value in after.items()
            if before.get(key) != value]


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def prepare_run_folder(out, config, overwrite=False, log=print):
    """Makes `out` ready for a run of `config`; returns True when it resumes one.

    Raises:
        RunFolderError: `out` is a file; it holds a finished run, a run of another
            config, or files a run writes but no `config.toml` (all unless
            `overwrite`, which removes the run's own entries, and only those).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out} is a file, not a folder")
    ours = [name for name in RUN_ENTRIES if (out / name).exists() or (out / name).is_symlink()]
    resumed = False
    if ours and overwrite:
        for name in ours:
            _remove(out / name)
        others = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME) \
            if out.is_dir() else []
        log(f"--overwrite: removed the earlier run's {', '.join(ours)} from {out}"
            + (f"; kept {len(others)} other entries" if others else ""))
    elif (out / METRICS_FILE).exists():
        raise RunFolderError(f"{out} already holds a finished run ({METRICS_FILE}). Pass "
                             "--overwrite to replace it (only the run's own files are removed), "
                             "or choose another --out.")
    elif (out / CONFIG_FILE).exists():
        try:
            previous = load_config(out / CONFIG_FILE)
        except (ConfigError, FileNotFoundError) as error:
            raise RunFolderError(f"{out} holds an unfinished run whose {CONFIG_FILE} cannot be "
                                 f"read ({error}). Pass --overwrite to start over.") from None
        changes = config_differences(previous, config)
        if changes:
            raise RunFolderError(
                f"{out} holds an unfinished run with another config: {'; '.join(changes)}. "
                "Restart with the same config to resume it, or pass --overwrite to start over "
                "(only the run's own files are removed).")
        resumed = True
        log(f"Resuming the unfinished run in {out} (same config)")
    elif ours:
        raise RunFolderError(f"{out} holds {', '.join(ours)} but no {CONFIG_FILE}: not a run "
                             "this job can resume. Pass --overwrite to replace those entries "
                             "(other files are kept), or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    write_bytes(out / CONFIG_FILE, config_to_toml(config).encode("utf-8"))
    return resumed
