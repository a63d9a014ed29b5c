"""One training stage: compile, fit with checkpoints, resume after a kill, keep the best."""

import shutil
from pathlib import Path

import keras
import tensorflow as tf

from siam_keras.saving import load_model
from training.callbacks import EpochTimer


def learning_rate_schedule(train_config, steps_per_epoch):
    """Adam's rate, divided by `lr_decay_factor` after each epoch in `lr_decay_epochs`."""
    boundaries = [e * steps_per_epoch for e in sorted(train_config.lr_decay_epochs) if e > 0]
    if not boundaries:
        return train_config.learning_rate
    values = [train_config.learning_rate / train_config.lr_decay_factor**i for i in range(len(boundaries) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def fit_stage(stage_dir, model, losses, loss_weights, train_data, validation_data, epochs,
              train_config, steps_per_epoch, callbacks=(), log=print):
    """Trains `model` and returns the best (lowest `val_loss`) model, uncompiled.

    Writes into `stage_dir`: `model.keras` (the best model, without optimizer or
    losses, loadable by `keras.saving.load_model` with nothing else imported),
    `history.csv`, `tensorboard/`, and while training `backup/` (BackupAndRestore:
    a killed run restarted with the same arguments resumes at the last finished
    epoch) and `checkpoints/best.weights.h5` (weights only, loaded back into
    `model`, so that a model class that exists only for training, such as
    `PaperLossWeighting`, never has to be serialised).

    `losses` None means the model computes its own loss (`compute_loss`). Data
    that repeat forever are fitted for `steps_per_epoch` steps an epoch.

    A stage whose `model.keras` already exists is finished: it is loaded, not retrained.
    """
    stage_dir = Path(stage_dir)
    final_path = stage_dir / "model.keras"
    if final_path.exists():
        log(f"  {final_path} exists: stage already finished, loading it.")
        return load_model(final_path)
    stage_dir.mkdir(parents=True, exist_ok=True)
    backup_dir = stage_dir / "backup"
    best_path = stage_dir / "checkpoints" / "best.weights.h5"
    resuming = backup_dir.exists()
    if resuming:
        log(f"  Resuming from {backup_dir} (an earlier run of this stage was interrupted).")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate_schedule(train_config, steps_per_epoch)),
        loss=losses,
        loss_weights=loss_weights,
    )
    endless = (isinstance(train_data, tf.data.Dataset)
               and train_data.cardinality() == tf.data.INFINITE_CARDINALITY)
    model.fit(
        train_data,
        validation_data=validation_data,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch if endless else None,
        verbose=2,
        shuffle=False,  # tf.data shuffles; Keras cannot shuffle a Dataset
        callbacks=[
            keras.callbacks.BackupAndRestore(str(backup_dir)),
            keras.callbacks.ModelCheckpoint(str(best_path), monitor="val_loss", save_best_only=True,
                                            save_weights_only=True),
            EpochTimer(),
            keras.callbacks.CSVLogger(str(stage_dir / "history.csv"), append=resuming),
            keras.callbacks.TensorBoard(str(stage_dir / "tensorboard"), profile_batch=0),
            *callbacks,
        ],
    )
    if best_path.exists():
        model.load_weights(best_path)
    # A fresh functional model over the same layers: no optimizer, no training losses.
    final = keras.Model(model.input, model.output, name=model.name)
    final.save(final_path)
    shutil.rmtree(stage_dir / "checkpoints", ignore_errors=True)
    return final
