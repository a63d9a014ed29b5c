"""One training stage: compile, fit, resume after a kill, keep the best, save atomically."""

import csv
import io
import math
from pathlib import Path

import keras
import tensorflow as tf

from siam_keras.models.dtype_policy import model_policy, rewrapped
from siam_keras.runtime.atomic import atomic_output, write_bytes
from training.batch_norm import BatchNormStatistics
from training.callbacks import EpochTimer
from training.checkpoints import StageCheckpoint
from training.distribution import devices_in_use
from training.loss_scaling import ReplicaSafeLossScaleOptimizer
from training.optimizers import adam
from training.replicas import ReplicaSafeModel, global_batch_statistics, num_replicas
from training.validation import MONITOR

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
CHECKPOINTS = "checkpoints"


class TrainingDiverged(ValueError):
    """The training loss became NaN or infinite; the message says when and what to try."""


def learning_rate_schedule(train_config, steps_per_epoch):
    """Adam's rate, divided by `lr_decay_factor` after each epoch in `lr_decay_epochs`."""
    boundaries = [e * steps_per_epoch for e in sorted(train_config.lr_decay_epochs) if e > 0]
    if not boundaries:
        return train_config.learning_rate
    values = [train_config.learning_rate / train_config.lr_decay_factor**i for i in range(len(boundaries) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def optimizer_for(model, train_config, steps_per_epoch):
    """Adam (`train.optimizer`, `train.adam_epsilon`) on the schedule, wrapped in a
    `LossScaleOptimizer` when the model computes in float16: its gradients underflow
    unscaled. Decided from the layers' policies, so it holds for wrapped and reloaded
    models too, whose own policy may read float32."""
    optimizer = adam(train_config, learning_rate_schedule(train_config, steps_per_epoch))
    if model_policy(model) == "mixed_float16":
        # Under several replicas Keras' own checks the first replica's gradients only.
        wrapper = (ReplicaSafeLossScaleOptimizer if num_replicas() > 1
                   else keras.optimizers.LossScaleOptimizer)
        optimizer = wrapper(optimizer)
    return optimizer


def _keep_history(path, epochs):
    """Keeps the rows of epochs < `epochs` in history.csv (an epoch whose row was written
    but whose state was not committed is run again, and must not appear twice)."""
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:] if row and row[0].isdigit() and int(row[0]) < epochs]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(kept)
    write_bytes(path, buffer.getvalue().encode("utf-8"))


def save_model(model, path):
    """`model.save(path)`, atomically: a kill while it is written leaves no broken file."""
    with atomic_output(path) as tmp:
        model.save(tmp)


def fit_stage(stage_dir, model, losses, loss_weights, train_data, validation, epochs,
              train_config, steps_per_epoch, callbacks=(), log=print, trained_as=None):
    """Trains `model` and returns the best model (lowest validation loss), uncompiled.

    Writes into `stage_dir`: `model.keras` (the best model, without optimizer or
    losses, loadable by `keras.saving.load_model` with nothing else imported),
    `history.csv` (training losses and `validation`'s logs per epoch),
    `tensorboard/`, and while training `checkpoints/` (`StageCheckpoint`: a killed
    run restarted with the same arguments resumes at its last finished epoch, with
    the best value so far).

    Args:
        model: the model to train (a `SIAMModel` or `BaselineModel`). It is trained as
            a functional model of class `trained_as` over its layers (`ReplicaSafeModel`
            if None; `PaperLossWeighting` computes its own loss, and `losses` is then
            None), so that `model` itself is never compiled and saves without
            optimizer or losses.
        validation: a `training.validation.ValidationLosses`; its `val_loss` selects
            the best model.
        callbacks: more callbacks, run after the validation and before the checkpoint
            (they may read and add to the logs).

    Before each validation the batch-norm statistics are recomputed over up to
    `train.batch_norm_batches` training batches (`training.batch_norm`), so that the model
    validated, checkpointed and kept is the model trained.

    A stage whose `model.keras` exists is finished: its weights are loaded into
    `model`, and the stage is not trained again. Data that repeat forever are fitted
    for `steps_per_epoch` steps an epoch.

    Raises:
        TrainingDiverged: the training loss became NaN or infinite.
    """
    stage_dir = Path(stage_dir)
    final_path = stage_dir / MODEL_FILE
    checkpoint = StageCheckpoint(stage_dir / CHECKPOINTS, MONITOR)
    if final_path.exists():
        log(f"  {final_path} exists: stage already finished, loading it.")
        model.load_weights(final_path)
        checkpoint.remove()
        return model
    stage_dir.mkdir(parents=True, exist_ok=True)
    trained = rewrapped(model, trained_as or ReplicaSafeModel)
    trained.compile(optimizer=optimizer_for(model, train_config, steps_per_epoch), loss=losses,
                    loss_weights=loss_weights)
    devices = devices_in_use()
    log(f"  {model_policy(model)} compute, optimizer {type(trained.optimizer).__name__}"
        + (f", on {devices} devices" if devices > 1 else ""))
    initial_epoch = checkpoint.restore(trained)
    if initial_epoch:
        log(f"  Resuming at epoch {initial_epoch + 1} of {epochs} from {checkpoint.folder} "
            f"(best {MONITOR} so far: {checkpoint.best:.4g})")
    _keep_history(stage_dir / HISTORY_FILE, initial_epoch)
    endless = (isinstance(train_data, tf.data.Dataset)
               and train_data.cardinality() == tf.data.INFINITE_CARDINALITY)
    with global_batch_statistics(model):  # several TensorFlow replicas: one batch's statistics
        history = trained.fit(
            train_data,
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch if endless else None,
            verbose=2,
            shuffle=False,  # tf.data shuffles; Keras cannot shuffle a Dataset
            callbacks=[
                keras.callbacks.TerminateOnNaN(),
                BatchNormStatistics(train_data, min(train_config.batch_norm_batches,
                                                    steps_per_epoch)),
                validation,
                *callbacks,
                EpochTimer(),
                keras.callbacks.CSVLogger(str(stage_dir / HISTORY_FILE), append=initial_epoch > 0),
                checkpoint,  # after the CSV row: a row is kept only once its epoch is committed
                keras.callbacks.TensorBoard(str(stage_dir / "tensorboard"), profile_batch=0),
            ],
        )
    losses_seen = history.history.get("loss", [])
    if losses_seen and not math.isfinite(losses_seen[-1]):
        raise TrainingDiverged(
            f"Training diverged in {stage_dir}: the loss became {losses_seen[-1]} at epoch "
            f"{initial_epoch + len(losses_seen)}. Try a lower train.learning_rate (it is "
            f"{train_config.learning_rate:g}); the last committed epoch is kept in "
            f"{checkpoint.folder} (pass --overwrite to start over).")
    best_epoch = checkpoint.load_best(trained)  # into the layers `model` shares
    if best_epoch is not None:
        log(f"  Best {MONITOR} {checkpoint.best:.4g} at epoch {best_epoch + 1}: kept as {final_path}")
    save_model(model, final_path)  # never compiled: no optimizer, no training losses
    checkpoint.remove()
    return model
