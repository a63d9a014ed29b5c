"""`StageCheckpoint`: resumable training state and the best model, committed atomically."""

import errno
import json
import math
import shutil
from pathlib import Path

import keras
import numpy as np

from siam_keras.runtime.atomic import write_json

STATE = "state.json"


#: Free space kept beyond a weights file's estimated size before it is written.
SPACE_MARGIN = 1.5


def save_weights(model, path):
    """`model.save_weights(path)`, refused beforehand when the disk cannot hold it.

    h5py on a full disk leaves file handles it cannot close, and the interpreter crashed
    (SIGSEGV) freeing them at exit; so the space is checked first (the variables' bytes,
    the optimizer's included, times `SPACE_MARGIN`). Should the write still fail (the
    disk filled meanwhile), the error names the file, and `siam-train` leaves without
    the interpreter's clean-up (`training.cli`).

    Raises:
        OSError: ENOSPC, naming the file, the space needed and the space free.
    """
    needed = SPACE_MARGIN * sum(
        int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize
        for v in [*model.weights, *getattr(getattr(model, "optimizer", None), "variables", [])])
    free = shutil.disk_usage(Path(path).parent).free
    if free < needed:
        raise OSError(errno.ENOSPC, f"{path} cannot be written: about {needed / 2**20:.1f} MiB "
                      f"needed, {free / 2**20:.1f} MiB free on its disk")
    try:
        model.save_weights(path)
    except OSError as error:
        reason = str(error.strerror or error).split("(", 1)[0].strip() or "write failed"
        raise OSError(error.errno, f"{path} cannot be written ({reason})") from None


class StageCheckpoint(keras.callbacks.Callback):
    """Saves, after every epoch, what a killed stage needs to resume exactly as it was.

    The folder holds `latest-<epoch>.weights.h5` (the model's and the optimizer's
    variables after that epoch), `best-<epoch>.weights.h5` (the model at the epoch
    with the lowest `monitor` so far) and `state.json`, which names both with the
    next epoch and the best value. `state.json` is replaced atomically after the
    weights are on disk, so it is the commit point: a kill at any moment leaves the
    previous state whole, and files it does not name are removed on the next start.
    So a restart resumes at the last committed epoch and remembers the best value
    (Keras' `ModelCheckpoint` forgets it, and its first epoch after a restart always
    replaces the best model).

    An epoch whose training loss is NaN or infinite is not committed.

    Args:
        folder: where the state lives (created).
        monitor: the log key to minimise, e.g. "val_loss". A NaN never counts as better.
    """

    def __init__(self, folder, monitor="val_loss"):
        super().__init__()
        self.folder = Path(folder)
        self.monitor = monitor
        self.state = {"epoch": 0, "monitor": monitor, "best": None, "best_epoch": None,
                      "best_weights": None, "latest_weights": None}

    def restore(self, model):
        """Loads the committed state into the compiled `model`; returns the epoch to
        start at (0 when there is none)."""
        path = self.folder / STATE
        if path.is_file():
            try:
                state = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(state, dict) or not set(self.state) <= set(state):
                    raise ValueError(f"expected the keys {sorted(self.state)}")
            except (OSError, ValueError) as error:
                raise ValueError(f"{path} cannot be resumed from ({error}); it was not written by "
                                 "this version. Pass --overwrite to start the run over.") from None
            self.state = state
        self._remove_unnamed()
        if not self.state["latest_weights"]:
            return 0
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(self.folder / self.state["latest_weights"])
        return int(self.state["epoch"])

    @property
    def best(self):
        best = self.state["best"]
        return math.inf if best is None else best

    def on_epoch_end(self, epoch, logs=None):
        if not math.isfinite((logs or {}).get("loss", 0.0)):
            return  # a diverged epoch is never committed: a restart goes back before it
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"StageCheckpoint monitors {self.monitor!r}, which must be in the "
                             f"logs. Received: {sorted(logs or {})}")
        self.folder.mkdir(parents=True, exist_ok=True)
        state = dict(self.state, epoch=epoch + 1, latest_weights=f"latest-{epoch}.weights.h5")
        if value < self.best:  # False for NaN
            state.update(best=float(value), best_epoch=epoch, best_weights=f"best-{epoch}.weights.h5")
            save_weights(self.model, self.folder / state["best_weights"])
        save_weights(self.model, self.folder / state["latest_weights"])
        write_json(self.folder / STATE, state)
        self.state = state
        self._remove_unnamed()

    def load_best(self, model):
        """Loads the best weights into `model`; returns the best epoch (None if there was none)."""
        if self.state["best_weights"]:
            model.load_weights(self.folder / self.state["best_weights"])
        return self.state["best_epoch"]

    def remove(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def _remove_unnamed(self):
        if not self.folder.is_dir():
            return
        named = {STATE, self.state["latest_weights"], self.state["best_weights"]}
        for path in self.folder.iterdir():
            if path.name not in named:
                path.unlink() if path.is_file() else shutil.rmtree(path, ignore_errors=True)
