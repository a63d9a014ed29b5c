"""One training stage: compile, fit, resume after a kill, keep the best, save atomically."""

import csv
import dataclasses
import io
import math
from pathlib import Path

import keras

from siam_keras.models.dtype_policy import model_policy, rewrapped
from siam_keras.runtime.atomic import atomic_output, write_bytes
from training.batch_norm import BatchNormStatistics
from training.callbacks import EpochTimer
from training.checkpoints import StageCheckpoint
from training.distribution import devices_in_use
from training.optimizers import optimizer_for
from training.replicas import ReplicaSafeModel, global_batch_statistics
from training.validation import MONITOR

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
CHECKPOINTS = "checkpoints"


class TrainingDiverged(ValueError):
    """The training loss became NaN or infinite; the message says when and what to try."""


def _keep_history(path, epochs):
    """Keeps the rows of epochs < `epochs` in history.csv (an epoch whose row was written
    but whose state was not committed is run again, and must not appear twice)."""
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:]
                        if row and row[0].isdigit() and int(row[0]) < epochs]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(kept)
    write_bytes(path, buffer.getvalue().encode("utf-8"))


def save_model(model, path):
    """`model.save(path)`, atomically: a kill while it is written leaves no broken file."""
    with atomic_output(path) as tmp:
        model.save(tmp)


@dataclasses.dataclass(frozen=True)
class Stage:
    """One training stage: where it writes, how long it trains, and how.

    Attributes:
        folder: where the stage writes `model.keras` (the best model, without optimizer
            or losses, loadable by `keras.saving.load_model` with nothing else imported),
            `history.csv` (training losses and the validation's logs per epoch),
            `tensorboard/`, and while training `checkpoints/` (`StageCheckpoint`).
        epochs: epochs to train (a resumed stage counts those already done).
        steps_per_epoch: steps an epoch (the training batches never end); also caps
            the batches the batch-norm statistics are recomputed over.
        train_config: the `[train]` table (learning rate and its schedule, optimizer,
            `batch_norm_batches`).
        trained_as: the class the model is trained as, a functional model over its layers
            (None: `ReplicaSafeModel`; `PaperLossWeighting` computes its own loss), so
            that the model itself is never compiled and saves without optimizer or losses.
        callbacks: more callbacks, run after the validation and before the checkpoint
            (they may read and add to the logs).
    """

    folder: Path
    epochs: int
    steps_per_epoch: int
    train_config: object
    trained_as: type | None = None
    callbacks: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "folder", Path(self.folder))
        object.__setattr__(self, "callbacks", tuple(self.callbacks))


def fit_stage(model, stage, *, losses, loss_weights, train_data, validation, log=print):
    """Trains `model` for the `Stage` `stage`; returns the best model (lowest validation
    loss), uncompiled, also saved as `stage.folder / "model.keras"`.

    Args:
        model: the model to train (a `SIAMModel` or `BaselineModel`).
        stage: the `Stage`: folder, epochs, steps, configuration, callbacks.
        losses, loss_weights: `compile`'s (None: the `trained_as` class computes the loss).
        train_data: the `training.datasets.TrainingBatches`: a resumed stage starts at
            its first epoch's batches.
        validation: a `training.validation.ValidationLosses`; its `val_loss` selects
            the best model.
        log: progress printer.

    Before each validation the batch-norm statistics are recomputed over up to
    `train.batch_norm_batches` training batches (`training.batch_norm`), so that the model
    validated, checkpointed and kept is the model trained. A killed run restarted with
    the same arguments resumes at its last finished epoch, with the best value so far. A
    stage whose `model.keras` exists is finished: its weights are loaded into `model`,
    and the stage is not trained again.

    Raises:
        TrainingDiverged: the training loss became NaN or infinite.
    """
    final_path = stage.folder / MODEL_FILE
    checkpoint = StageCheckpoint(stage.folder / CHECKPOINTS, MONITOR)
    if final_path.exists():
        log(f"  {final_path} exists: stage already finished, loading it.")
        model.load_weights(final_path)
        checkpoint.remove()
        return model
    stage.folder.mkdir(parents=True, exist_ok=True)
    trained = _compiled(model, stage, losses, loss_weights, log)
    initial_epoch = _resumed_epoch(trained, stage, checkpoint, log)
    with global_batch_statistics(model):  # several TensorFlow replicas: one batch's statistics
        history = trained.fit(
            train_data.dataset(initial_epoch, stage.steps_per_epoch),
            epochs=stage.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=stage.steps_per_epoch,
            verbose=2,
            shuffle=False,  # `TrainingBatches` shuffles; Keras cannot shuffle a Dataset
            callbacks=_callbacks(stage, train_data, validation, checkpoint, initial_epoch),
        )
    _check_finite(history, stage, initial_epoch, checkpoint)
    best_epoch = checkpoint.load_best(trained)  # into the layers `model` shares
    if best_epoch is not None:
        log(f"  Best {MONITOR} {checkpoint.best:.4g} at epoch {best_epoch + 1}: kept as "
            f"{final_path}")
    save_model(model, final_path)  # never compiled: no optimizer, no training losses
    checkpoint.remove()
    return model


def _compiled(model, stage, losses, loss_weights, log):
    """`model` rewrapped as `stage.trained_as` over its layers and compiled (the model
    itself stays uncompiled); logs its compute policy, optimizer and devices."""
    trained = rewrapped(model, stage.trained_as or ReplicaSafeModel)
    trained.compile(optimizer=optimizer_for(model, stage.train_config, stage.steps_per_epoch),
                    loss=losses, loss_weights=loss_weights)
    devices = devices_in_use()
    log(f"  {model_policy(model)} compute, optimizer {type(trained.optimizer).__name__}"
        + (f", on {devices} devices" if devices > 1 else ""))
    return trained


def _resumed_epoch(trained, stage, checkpoint, log):
    """The epoch to start at: 0, or the one after the last committed to `checkpoint`
    (restored into `trained`); history.csv keeps only the rows of the epochs before it."""
    initial_epoch = checkpoint.restore(trained)
    if initial_epoch:
        log(f"  Resuming at epoch {initial_epoch + 1} of {stage.epochs} from "
            f"{checkpoint.folder} (best {MONITOR} so far: {checkpoint.best:.4g})")
    _keep_history(stage.folder / HISTORY_FILE, initial_epoch)
    return initial_epoch


def _callbacks(stage, train_data, validation, checkpoint, initial_epoch):
    """The stage's callbacks, in the order they must run each epoch."""
    return [
        keras.callbacks.TerminateOnNaN(),
        # The first batches of the training order, whatever the epoch: nothing to seek.
        BatchNormStatistics(train_data.dataset(), min(stage.train_config.batch_norm_batches,
                                                      stage.steps_per_epoch)),
        validation,
        *stage.callbacks,
        EpochTimer(),
        keras.callbacks.CSVLogger(str(stage.folder / HISTORY_FILE), append=initial_epoch > 0),
        checkpoint,  # after the CSV row: a row is kept only once its epoch is committed
        keras.callbacks.TensorBoard(str(stage.folder / "tensorboard"), profile_batch=0),
    ]


def _check_finite(history, stage, initial_epoch, checkpoint):
    """Raises `TrainingDiverged` if the last training loss is NaN or infinite."""
    losses_seen = history.history.get("loss", [])
    if losses_seen and not math.isfinite(losses_seen[-1]):
        raise TrainingDiverged(
            f"Training diverged in {stage.folder}: the loss became {losses_seen[-1]} at epoch "
            f"{initial_epoch + len(losses_seen)}. Try a lower train.learning_rate (it is "
            f"{stage.train_config.learning_rate:g}); the last committed epoch is kept in "
            f"{checkpoint.folder} (pass --overwrite to start over).")
