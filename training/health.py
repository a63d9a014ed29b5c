"""Training health: the signs that a model learned nothing, checked after every epoch.

A run can fall into a constant model while its training loss falls steadily (batch-norm
statistics that lag small data were one way: every attribute map dead in inference mode,
alive in training mode). These checks look at what validation sees:

- **constant outputs**: a regression output whose predictions spread less than
  `CONSTANT_SPREAD` of its labels' spread over the validation images (a model that
  learned nothing predicts the mean), a classification output whose class
  probabilities hardly move from image to image (their spread under `CONSTANT_SPREAD`
  of the labels' one-hot spread) or that names one class for every image, or a
  multi-label output whose tag probabilities spread that little against its tags'
  (`OutputKind.constant`);
- **dead attributes**: an attribute whose score stays under `DEAD_SCORE` on at least
  `DEAD_SHARE` of the validation images labelled positive (>= 0.5) for it (with no
  attribute labels at all: exactly 0 on that share of all images): its map never fires,
  so it explains nothing;
- **non-finite**: NaN or infinite predictions or validation metrics;
- **mode gap**: on one validation batch, how far the outputs in training mode (batch
  statistics) are from inference mode (moving statistics), each centred over the batch,
  relative to their spread; over `MODE_GAP` the model validated and saved is not the
  model trained (healthy models measured 0.02-0.22, failed ones 0.73-0.92).

`check_predictions` and `mode_gap` compute them; `HealthReport` holds them, says what to
change, and writes them to history.csv and metrics.json.
"""

import dataclasses
import math

import numpy as np

from siam_keras import vocabulary
from siam_keras.runtime.output_kinds import REGRESSION, kinds_of
from training import multi_host
from training.replicas import batch_normalizations

#: Below this share of the labels' spread, an output counts as constant.
CONSTANT_SPREAD = 0.05
#: An attribute score (the spatial mean of its map; tanh(score) is its probability)
#: under this counts as "absent".
DEAD_SCORE = 0.05
#: An attribute absent on at least this share of its positive images is dead.
DEAD_SHARE = 0.95
#: Positive images needed to judge an attribute by them (fewer: by all images).
MIN_POSITIVES = 5
#: Training- and inference-mode outputs further apart than this (relative) are a gap.
MODE_GAP = 0.5


@dataclasses.dataclass
class HealthReport:
    """What the checks found (empty lists: nothing); `mode_gap` is None when not measured."""

    constant_outputs: list = dataclasses.field(default_factory=list)
    dead_attributes: list = dataclasses.field(default_factory=list)
    nonfinite: list = dataclasses.field(default_factory=list)
    mode_gap: float = None
    mode_gap_output: str = ""

    @property
    def failed(self):
        """Whether the model learned nothing usable: a constant output, a dead attribute
        or a non-finite value (a mode gap alone is a warning: small batches widen it)."""
        return bool(self.constant_outputs or self.dead_attributes or self.nonfinite)

    @property
    def wide_mode_gap(self):
        return self.mode_gap is not None and self.mode_gap > MODE_GAP

    def problems(self):
        """One line per problem, each saying what to change."""
        lines = []
        if self.constant_outputs:
            lines.append(
                f"constant output(s) {', '.join(self.constant_outputs)}: the model predicts "
                f"about the same value for every validation photo, so it learned nothing about "
                f"them. Train for more steps (train.epochs, train.min_steps_per_epoch), check "
                f"that the column varies in the training split, and lower "
                f"train.learning_rate if the training loss jumped.")
        if self.dead_attributes:
            lines.append(
                f"dead attribute(s) {', '.join(self.dead_attributes)}: their maps stay at 0 on "
                f"{DEAD_SHARE:.0%} or more of the validation photos labelled positive, so they "
                f"explain nothing. Train the attributes first (train.attribute_epochs = 10), "
                f"lower train.contribution_l1 and train.template_l1, and check that these "
                f"columns have positive labels in the training split.")
        if self.nonfinite:
            lines.append(
                f"non-finite values in {', '.join(self.nonfinite)}: lower train.learning_rate "
                f"(or turn off train.mixed_precision).")
        if self.wide_mode_gap:
            lines.append(
                f"training and inference mode disagree by {self.mode_gap:.2f} (relative, on "
                f"{self.mode_gap_output}) on one validation batch: the batch-norm statistics do "
                f"not describe the trained weights. Keep train.batch_norm_batches above 0 "
                f"(or raise it), or raise train.batch_size.")
        return lines

    def logs(self):
        """The history.csv columns: counts of each problem, and the mode gap."""
        return {"health_constant_outputs": len(self.constant_outputs),
                "health_dead_attributes": len(self.dead_attributes),
                "health_nonfinite": len(self.nonfinite),
                "health_mode_gap": math.nan if self.mode_gap is None else self.mode_gap}

    def to_json(self):
        """metrics.json's `health` entry."""
        return {"ok": not self.failed, **dataclasses.asdict(self), "problems": self.problems()}


def _dead(scores, labels):
    """Whether an attribute's (N,) scores never fire: on its positive images (labels >= 0.5)
    when there are `MIN_POSITIVES` of them, on all images when there are no labels (with
    labels but fewer positives, a silent attribute may be right: not judged)."""
    absent = scores < DEAD_SCORE
    if labels is None:
        return bool(len(scores) and (scores <= 0.0).mean() >= DEAD_SHARE)
    positive = labels >= 0.5
    if positive.sum() < MIN_POSITIVES:
        return False
    return bool(absent[positive].mean() >= DEAD_SHARE)


def check_predictions(predictions, labels, outputs, attribute_names=()):
    """A `HealthReport` (without the mode gap) of validation predictions.

    Args:
        predictions: {key: (N, ...) array} over the validation images: each named output
            and, for a SIAM model, `attribute_scores` (N, K).
        labels: {key: (N, ...) array} of the same images' labels (NaN, or a class index
            < 0, where missing); a key left out has no labels.
        outputs: the named outputs to check: {output: OutputKind}, or names of
            regression outputs.
        attribute_names: the attributes, in the order of `attribute_scores`' columns.
    """
    kinds = kinds_of(outputs)
    report = HealthReport()
    for key, value in predictions.items():
        if not np.isfinite(np.asarray(value, dtype="float64")).all():
            report.nonfinite.append(key)
    for name, kind in kinds.items():
        if name in report.nonfinite or name not in predictions or name not in labels:
            continue
        known = kind.known_rows(labels[name])
        predicted = np.asarray(predictions[name])[known]
        if len(predicted) > 1 and kind.constant(predicted, np.asarray(labels[name])[known],
                                                CONSTANT_SPREAD):
            report.constant_outputs.append(name)
    scores = predictions.get(vocabulary.ATTRIBUTE_SCORES)
    if scores is None or vocabulary.ATTRIBUTE_SCORES in report.nonfinite:
        return report
    scores = np.asarray(scores, dtype="float64")
    true = labels.get(vocabulary.ATTRIBUTE_SCORES)
    known = REGRESSION.known_rows(true) if true is not None else np.zeros(len(scores), bool)
    for k, attribute in enumerate(attribute_names):
        attribute_labels = np.asarray(true)[known, k] if known.any() else None
        if _dead(scores[known, k] if known.any() else scores[:, k], attribute_labels):
            report.dead_attributes.append(attribute)
    return report


def _relative_gap(training, inference):
    """How far two (B, ...) outputs of one batch differ once each is centred over the
    batch, relative to the training-mode spread. Centred, because a batch's own
    statistics shift every output of the batch alike (a healthy model's outputs moved
    by up to 0.7 of their spread on a 32-image batch, alike); stale statistics flatten
    or scramble them (0.73 and more in the models that failed)."""
    training = np.asarray(training, dtype="float64").reshape(len(training), -1)
    inference = np.asarray(inference, dtype="float64").reshape(len(inference), -1)
    difference = (training - training.mean(axis=0)) - (inference - inference.mean(axis=0))
    return float(np.abs(difference).mean() / max(training.std(axis=0).mean(), 1e-6))


def mode_gap(model, images, output_names):
    """(gap, output): the largest difference between `model`'s outputs (attribute scores,
    each output's values or logits) on `images` in training mode and in inference mode,
    centred over the batch and relative to their spread (`_relative_gap`), and which
    output it is. Batch-norm statistics are left as they were.
    """
    images = multi_host.global_batch(images)  # several processes: one batch of copies
    layers = [layer for layer in batch_normalizations(model) if layer.trainable]
    saved = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 1.0  # moving statistics * 1 + batch statistics * 0: unchanged
    try:
        training = multi_host.local_rows(model(images, training=True))
    finally:
        for layer, momentum in zip(layers, saved):
            layer.momentum = momentum
    inference = multi_host.local_rows(model(images, training=False))
    keys = [key for key in (*output_names, vocabulary.ATTRIBUTE_SCORES) if key in inference]
    gaps = {key: _relative_gap(training[key], inference[key]) for key in keys}
    if not gaps:
        return None, ""
    worst = max(gaps, key=gaps.get)
    return gaps[worst], worst


class UnhealthyModel(RuntimeError):
    """The kept model learned nothing usable (`HealthReport.failed`); the message says
    what was found and what to change."""


def check_health(health, keep_unhealthy=False, log=print):
    """Ends a run on metrics.json's `health` entry: prints each model's problems, and
    raises `UnhealthyModel` when the kept SIAM model failed, unless `keep_unhealthy`."""
    for model, report in health.items():
        for problem in report["problems"]:
            log(f"warning: the kept {'SIAM model' if model == 'siam' else model}: {problem}")
    if health["siam"]["ok"]:
        return
    message = ("The kept SIAM model failed its health checks (metrics.json: health): "
               + " ".join(health["siam"]["problems"])
               + " Its files are kept for inspection; after changing the config, rerun with "
                 "--overwrite.")
    if keep_unhealthy:
        log("warning: " + message + " (kept: --keep-unhealthy)")
        return
    raise UnhealthyModel(message + " Pass --keep-unhealthy to accept such a model (exit 0).")
