"""Mirrored training on two logical CPU devices, run by `test_distribution.py` in a
fresh process (`python -m tests.training.mirrored_runs OUT`): TensorFlow's logical
devices must be configured before it initialises, once per process.

Writes `OUT/results.json`:
- `one_device`, `mirrored`: history.csv rows of the shrunk demo config trained on one
  device (`train.distribution = "none"`) and mirrored over two. The mirrored run is
  killed at the start of its second epoch (its first committed) and restarted: its
  rows are those of the killed run and the resumed one.
- `mirrored_log`: the progress lines of both mirrored attempts.
- `overflow`: a mixed-precision step on which only the second replica's float16
  gradients overflow: whether it was skipped, and whether the weights stayed finite.
- `sgd_step_empty_cells`: the same with a label missing on one replica only.
- `sgd_step`: the largest difference between the weight updates of one plain SGD step
  on one device and mirrored over two, relative to the largest update (Adam, which training uses, would hide a
  gradient scaled by the number of replicas: it is invariant to the gradient's scale).
"""

import csv
import json
import os
import sys
from pathlib import Path

#: The demo config, shrunk: two augmented batches an epoch, so that the runs agree only
#: if they read the same batches in the same order (Keras reads a batch ahead under a
#: strategy, and the mirrored run is killed and resumed: `TrainingBatches`); validation
#: and test splits whose last batch holds one image, fewer than the devices.
SHRUNK = ["data.image_size=32", "data.synthetic_scenes.num_train=32",
          "data.synthetic_scenes.num_validation=17", "data.synthetic_scenes.num_test=65",
          "data.synthetic_scenes.truth_template_size=4", "model.template_size=4",
          "train.epochs=2", "train.batch_size=16", "train.lr_decay_epochs=[1]",
          "baseline.enabled=false", "train.min_steps_per_epoch=2"]
MIRRORED = ["train.distribution=mirrored", 'train.devices=["/cpu:0", "/cpu:1"]']


def _rows(folder):
    with open(folder / "history.csv", newline="") as file:
        return list(csv.DictReader(file))


def _train(out, overrides, log):
    from training.config import load_config
    from training.run import run

    config = load_config("training/configs/demo.toml", SHRUNK + overrides)
    run(config, out, log=log, keep_unhealthy=True)


def _killed_at_epoch(epoch):
    """An `EpochTimer` that interrupts the run when `epoch` begins, once."""
    from training.callbacks import EpochTimer

    class Killing(EpochTimer):
        fired = False

        def on_epoch_begin(self, index, logs=None):
            if index == epoch and not Killing.fired:
                Killing.fired = True
                raise KeyboardInterrupt("killed")
            super().on_epoch_begin(index, logs)

    return Killing


def _overflow_step():
    """One mixed-precision step of a baseline model where only the second replica's
    targets are huge: its float16 gradients overflow, the first replica's do not."""
    import keras
    import numpy as np
    import tensorflow as tf

    from siam_keras.models import build_baseline_model
    from training.config import load_config
    from training.distribution import training_scope
    from training.losses import SquaredError
    from training.optimizers import optimizer_for

    train = load_config(None, MIRRORED + ["train.batch_size=4"]).train
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    targets = {"scenicness": np.array([1.0, 1.0, 3e4, 3e4], "float32")}
    with training_scope(train):
        model = build_baseline_model(["scenicness"], image_size=32, dtype_policy="mixed_float16")
        model.compile(optimizer=optimizer_for(model, train, 1), loss={"scenicness": SquaredError()})
        model.fit(tf.data.Dataset.from_tensors((images, targets)), epochs=1, verbose=0)
    return {"optimizer": type(model.optimizer).__name__,
            "steps_applied": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
            "weights_finite": all(np.isfinite(np.asarray(w)).all() for w in model.weights)}


def _sgd_step(labelled=None):
    """The weights after one SGD step of a baseline model, on one device and mirrored;
    `labelled`: the rows that have a label (the others have sample weight 0)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from siam_keras.models import build_baseline_model
    from training.config import load_config
    from training.distribution import training_scope
    from training.losses import SquaredError
    from training.replicas import global_batch_statistics

    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    targets = {"scenicness": rng.normal(5.0, 2.0, 4).astype("float32")}
    weights = {"scenicness": np.isin(np.arange(4), labelled if labelled is not None
                                     else range(4)).astype("float32")}
    updates = {}
    for name, overrides in (("one", []), ("mirrored", MIRRORED)):
        keras.utils.set_random_seed(0)
        with training_scope(load_config(None, overrides + ["train.batch_size=4"]).train):
            model = build_baseline_model(["scenicness"], image_size=32)
            before = [np.asarray(w) for w in model.trainable_weights]
            model.compile(optimizer=keras.optimizers.SGD(0.05),
                          loss={"scenicness": SquaredError()})
            with global_batch_statistics(model):  # as training.fit trains
                model.fit(tf.data.Dataset.from_tensors((images, targets, weights)), epochs=1,
                          verbose=0)
        updates[name] = np.concatenate([(np.asarray(w) - b).ravel()
                                        for w, b in zip(model.trainable_weights, before)])
    # The update is the learning rate times the gradient: twice as large if the replicas'
    # gradients were summed, not averaged.
    one, mirrored = updates["one"], updates["mirrored"]
    return float(np.abs(mirrored - one).max() / np.abs(one).max())


def main(out):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import training.fit

    out = Path(out)
    _train(out / "one_device", [], log=lambda *a: None)
    lines = []
    timer, training.fit.EpochTimer = training.fit.EpochTimer, _killed_at_epoch(1)
    try:
        _train(out / "mirrored", MIRRORED, log=lines.append)
    except KeyboardInterrupt:
        lines.append("<killed>")
    finally:
        training.fit.EpochTimer = timer
    _train(out / "mirrored", MIRRORED, log=lines.append)
    results = {"one_device": _rows(out / "one_device"), "mirrored": _rows(out / "mirrored"),
               "mirrored_log": lines, "overflow": _overflow_step(), "sgd_step": _sgd_step(),
               # One labelled row on the first replica (rows 0, 1), both on the second.
               "sgd_step_empty_cells": _sgd_step(labelled=[0, 2, 3])}
    (out / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
