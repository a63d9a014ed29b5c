"""`ValidationLosses`: validation over whole datasets, each target on the samples that have it."""

import math

import keras
import numpy as np

from siam_keras.metrics.classification import classification_report
from siam_keras.metrics.regression import kendall_tau
from training.replicas import predict_batch

MONITOR = "val_loss"


class ValidationLosses(keras.callbacks.Callback):
    """Validates after every epoch and adds the results to the logs.

    Keras validates batch by batch. When a batch holds one dataset (SUN's images carry
    attribute labels only, ScenicOrNot's outputs only), the other task's loss is 0 on
    it, its per-batch means average those zeros in, and under the paper's weighting
    the total of a ScenicOrNot batch is 0 whatever its error (the rescaling
    multiplies every term by L_sun). So validation here runs the model on every
    batch first and then takes, per target, the mean loss over all the samples
    that have that label, whatever batch they came in:

    - `val_<target>_loss` (e.g. `val_attribute_scores_loss`, `val_scenicness_loss`),
    - `val_<output>_kendall_tau` for each named output (the paper's main metric), or
      `val_<output>_accuracy` for a classification output,
    - `val_loss`: the sum of the targets' losses times `weights`, the value the best
      model is selected on (`MONITOR`). A target with no labelled sample is left out.

    Place it before the callbacks that read the logs (checkpoints, CSV, TensorBoard).

    Args:
        batches: an iterable of (images, targets, sample weights) batches, as
            `model.fit` takes them; a sample weight of 0 marks a missing label.
        losses: {target: `keras.losses.Loss`} whose `call` gives one value per sample.
        weights: {target: weight in `val_loss`}.
        outputs: the named outputs to compute Kendall's tau (or accuracy) of.
        output_classes: {output: class names} of the classification outputs.
    """

    def __init__(self, batches, losses, weights, outputs=(), output_classes=None):
        super().__init__()
        self.batches = batches
        self.losses = dict(losses)
        self.weights = {key: float(weights.get(key, 1.0)) for key in self.losses}
        self.outputs = tuple(outputs)
        self.output_classes = dict(output_classes or {})

    def evaluate(self, model):
        """{log key: value} of `model` on the validation batches."""
        sums = {key: 0.0 for key in self.losses}
        counts = {key: 0.0 for key in self.losses}
        labelled = {name: ([], []) for name in self.outputs}
        # NumPy batches from a tf.data pipeline: every Keras backend takes them.
        batches = getattr(self.batches, "as_numpy_iterator", lambda: self.batches)()
        for images, targets, sample_weights in batches:
            predictions = predict_batch(model, images)
            for key, loss in self.losses.items():
                weight = np.asarray(sample_weights[key], dtype="float64").reshape(-1)
                values = keras.ops.convert_to_numpy(loss.call(targets[key], predictions[key]))
                values = np.asarray(values, dtype="float64").reshape(len(weight), -1).mean(axis=1)
                sums[key] += float((weight * values)[weight > 0].sum())
                counts[key] += float(weight.sum())
            for name in self.outputs:
                keep = np.asarray(sample_weights[name]).reshape(-1) > 0
                predicted = np.asarray(predictions[name])
                labelled[name][0].append(np.asarray(targets[name]).reshape(-1)[keep])
                labelled[name][1].append(predicted.reshape(len(keep), -1)[keep])
        logs, total, any_labelled = {}, 0.0, False
        for key in self.losses:
            mean = sums[key] / counts[key] if counts[key] > 0 else math.nan
            logs[f"val_{key}_loss"] = mean
            if counts[key] > 0:
                total += self.weights[key] * mean
                any_labelled = True
        logs[MONITOR] = total if any_labelled else math.nan
        for name, (true, predicted) in labelled.items():
            true = np.concatenate(true) if true else np.zeros(0)
            if name in self.output_classes:
                width = len(self.output_classes[name])
                predicted = np.concatenate(predicted) if predicted else np.zeros((0, width))
                logs[f"val_{name}_accuracy"] = classification_report(
                    true.astype("int64"), predicted, self.output_classes[name])["accuracy"]
                continue
            predicted = np.concatenate(predicted).reshape(-1) if predicted else np.zeros(0)
            logs[f"val_{name}_kendall_tau"] = (kendall_tau(true, predicted) if len(true) > 1
                                               else math.nan)
        return logs

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self.evaluate(self.model))
