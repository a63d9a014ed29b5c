"""`ValidationLosses`: validation over whole datasets, each target on the samples that have it,
with the training health checks (`training.health`)."""

import math

import keras
import numpy as np

from siam_keras import vocabulary
from siam_keras.metrics.report import output_report
from siam_keras.runtime.output_kinds import kinds_of
from training.health import check_predictions, mode_gap
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
    - `val_<output>_<metric>` for each named output, its kind's `validation_metric`:
      Kendall's tau for a regression output (the paper's main metric), accuracy for a
      classification output,
    - `val_loss`: the sum of the targets' losses times `weights`, the value the best
      model is selected on (`MONITOR`). A target with no labelled sample is left out.
    - `health_*`: the training health checks on the same predictions
      (`training.health.HealthReport.logs`); a problem is also printed with what to
      change. `report` holds the last epoch's `HealthReport`.

    Place it before the callbacks that read the logs (checkpoints, CSV, TensorBoard).

    Args:
        batches: an iterable of (images, targets, sample weights) batches, as
            `model.fit` takes them; a sample weight of 0 marks a missing label.
        losses: {target: `keras.losses.Loss`} whose `call` gives one value per sample.
        weights: {target: weight in `val_loss`}.
        outputs: the named outputs to compute each kind's `validation_metric` of
            ({output: OutputKind}, or names of regression outputs).
        attribute_names: the attributes, for the dead-attribute check (none: a model
            without attributes, such as the baseline).
        log: where health problems are printed.
    """

    def __init__(self, batches, losses, weights, outputs=(), attribute_names=(), log=print):
        super().__init__()
        self.batches = batches
        self.losses = dict(losses)
        self.weights = {key: float(weights.get(key, 1.0)) for key in self.losses}
        self.kinds = kinds_of(outputs)
        self.outputs = tuple(self.kinds)
        self.attribute_names = tuple(attribute_names)
        self.log = log
        self.report = None

    def _run(self, model):
        """Every batch's predictions and labels, concatenated: ({key: predictions},
        {key: labels, NaN or -1 where missing}, per-sample losses {target: (values,
        weights)}, the first batch's images)."""
        keys = [*self.outputs, *([vocabulary.ATTRIBUTE_SCORES] if self.attribute_names else [])]
        predicted, labels = {key: [] for key in keys}, {key: [] for key in keys}
        per_sample = {key: ([], []) for key in self.losses}
        first = None
        # NumPy batches from a tf.data pipeline: every Keras backend takes them.
        batches = getattr(self.batches, "as_numpy_iterator", lambda: self.batches)()
        for images, targets, sample_weights in batches:
            first = images if first is None else first
            predictions = predict_batch(model, images)
            for key, loss in self.losses.items():
                weight = np.asarray(sample_weights[key], dtype="float64").reshape(-1)
                values = keras.ops.convert_to_numpy(loss.call(targets[key], predictions[key]))
                per_sample[key][0].append(np.asarray(values, "float64").reshape(len(weight), -1)
                                          .mean(axis=1))
                per_sample[key][1].append(weight)
            for key in keys:
                keep = np.asarray(sample_weights[key]).reshape(-1) > 0
                true = np.asarray(targets[key])
                missing = self.kinds[key].missing if key in self.kinds else np.nan
                true = np.where(keep.reshape((-1,) + (1,) * (true.ndim - 1)), true, missing)
                labels[key].append(true)
                predicted[key].append(np.asarray(predictions[key]))
        joined = {key: np.concatenate(v) if v else np.zeros(0) for key, v in predicted.items()}
        true = {key: np.concatenate(v) if v else np.zeros(0) for key, v in labels.items()}
        return joined, true, per_sample, first

    def _loss_logs(self, per_sample):
        logs, total, any_labelled = {}, 0.0, False
        for key, (values, weights) in per_sample.items():
            values = np.concatenate(values) if values else np.zeros(0)
            weights = np.concatenate(weights) if weights else np.zeros(0)
            count = float(weights.sum())
            mean = float((weights * values)[weights > 0].sum()) / count if count > 0 else math.nan
            logs[f"val_{key}_loss"] = mean
            if count > 0:
                total += self.weights[key] * mean
                any_labelled = True
        logs[MONITOR] = total if any_labelled else math.nan
        return logs

    def _metric_logs(self, predicted, true):
        logs = {}
        for name, kind in self.kinds.items():
            labels = true[name]
            keep = kind.known_rows(labels)
            values = predicted[name].reshape(len(labels), *kind.shape)[keep]
            logs[f"val_{name}_{kind.validation_metric}"] = (
                output_report(kind, labels[keep], values)[kind.validation_metric]
                if keep.sum() > 1 else math.nan)
        return logs

    def evaluate(self, model):
        """{log key: value} of `model` on the validation batches; sets `report`."""
        predicted, true, per_sample, first = self._run(model)
        logs = {**self._loss_logs(per_sample), **self._metric_logs(predicted, true)}
        report = check_predictions(predicted, true, self.kinds, self.attribute_names)
        report.nonfinite += [key for key, value in logs.items()
                             if not math.isfinite(value)
                             and _judged(key, per_sample, true, report, self.kinds)]
        if first is not None:
            report.mode_gap, report.mode_gap_output = mode_gap(model, first, self.outputs)
        self.report = report
        return {**logs, **report.logs()}

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs.update(self.evaluate(self.model))
        for problem in self.report.problems():
            self.log(f"  health (epoch {epoch + 1}): {problem}")


def _judged(key, per_sample, true, report, kinds):
    """Whether a non-finite log `key` is a problem of its own: not a loss or metric left
    NaN because no validation sample has its label, nor the Kendall's tau of an output
    already reported as constant (its ties make tau NaN), nor `val_loss` (a sum of those)."""
    if key == MONITOR:
        return False
    for target, (_, weights) in per_sample.items():
        if key == f"val_{target}_loss":
            return any(w.sum() > 0 for w in weights)
    for name, labels in true.items():
        kind = kinds.get(name)
        if kind is not None and key == f"val_{name}_{kind.validation_metric}":
            if name in report.constant_outputs or not len(labels):
                return False
            return int(kind.known_rows(labels).sum()) > 1
    return True
