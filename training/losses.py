"""Losses of the multi-task objective. Each returns one value per sample, so that
sample weights can mask samples whose label is missing (two-dataset training).

Both reduce with `mean_with_sample_weight`: a task's loss is the mean over the
samples that have its label, so the samples of the other dataset add exactly
nothing to it, neither to its value nor to its gradient (with Keras' default
reduction they would still shrink it, as the divisor would count them). Under a
TensorFlow strategy of several replicas the mean is over the labelled samples of the
whole global batch, not of each replica's share (`MaskedMeanLoss`).
"""

import keras
from keras import ops

from siam_keras import vocabulary
from siam_keras.runtime.output_kinds import kinds_of

MASKED_MEAN = "mean_with_sample_weight"
#: The authors' rescaling: L = L_sun + 0.1 L_son (L_sun / L_son) + 0.001 L_T (L_sun / L_T).
PAPER_OUTPUT_SCALE = 0.1
PAPER_TEMPLATE_SCALE = 0.001


#: PyTorch's `BCELoss` clamps each log at -100; so does `AttributeLoss`.
LOG_FLOOR = -100.0
LOG_2 = 0.6931471805599453
#: float32's smallest normal number: above it log(tanh(s)) and its gradient 1/s are finite.
_TINY = 1.1754944e-38


def log_tanh(scores):
    """log(tanh(s)) for scores s >= 0, computed in log space and clamped at `LOG_FLOOR`.

    log(tanh s) = log(1 - e^-2s) - log(1 + e^-2s), the first term by Maechler's
    log1mexp (log(-expm1(-a)) for a <= log 2, log1p(-exp(-a)) above): accurate in
    float32 from s = 1e-38, where a probability clip would have cut the gradient (1/s)
    to 0, to s = 8 and beyond, where 1 - tanh(s) is under float32's resolution.
    At s = 0 it is `LOG_FLOOR` with gradient 0 (there every cell of the map is 0, and
    ReLU passes no gradient back either way).
    """
    alive = scores > _TINY
    a = 2.0 * ops.where(alive, scores, 1.0)  # no inf in a branch not taken, nor its gradient
    near = a <= LOG_2
    log_1mexp = ops.where(near, ops.log(-ops.expm1(-ops.where(near, a, LOG_2))),
                          ops.log1p(-ops.exp(-ops.where(near, 1.0, a))))
    value = log_1mexp - ops.softplus(-a)
    return ops.maximum(ops.where(alive, value, LOG_FLOOR), LOG_FLOOR)


def log_one_minus_tanh(scores):
    """log(1 - tanh(s)) = log 2 - 2s - softplus(-2s), clamped at `LOG_FLOOR`: it keeps
    falling (gradient -2) for large s, where 1 - tanh(s) rounds to 0 in float32."""
    return ops.maximum(LOG_2 - 2.0 * scores - ops.softplus(-2.0 * scores), LOG_FLOOR)


def _replica_context():
    """The TensorFlow replica context of a step over several replicas, else None."""
    if keras.backend.backend() != "tensorflow":
        return None  # JAX computes the loss on the global batch
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    return context if context is not None and context.num_replicas_in_sync > 1 else None


class MaskedMeanLoss(keras.losses.Loss):
    """A per-sample loss averaged over the samples that have a label (sample weight > 0)
    of the whole global batch.

    Keras reduces each replica's share on its own: its mean over that replica's labelled
    samples. Where the replicas hold different numbers of them (empty cells, unevenly
    spread), the replicas' means, averaged, are not the batch's mean. Each replica's
    mean is rescaled by its count over the replicas' mean count (summed across them), so
    that the average is the global batch's mean, as on one device.
    """

    def __call__(self, y_true, y_pred, sample_weight=None):
        loss = super().__call__(y_true, y_pred, sample_weight)
        context = _replica_context()
        if sample_weight is None or context is None:
            return loss
        count = ops.sum(ops.cast(sample_weight, "float32"))
        mean_count = context.all_reduce("sum", count) / context.num_replicas_in_sync
        return loss * ops.cast(ops.divide_no_nan(count, mean_count), loss.dtype)


@keras.saving.register_keras_serializable(package="siam_training")
class AttributeLoss(MaskedMeanLoss):
    """Binary cross-entropy between labels in [0, 1] and tanh(attribute score).

    Attribute scores are spatial means of non-negative maps, so tanh maps them
    into [0, 1) (the authors' choice). The logs are computed from the score in log
    space (`log_tanh`, `log_one_minus_tanh`) and clamped at -100 as PyTorch's `BCELoss`
    does, so the gradient survives wherever theirs does: a nearly dead attribute
    (score 1e-8, label 2/3: -6.7e7) can come back, and a saturated one (score 8,
    label 2/3: 0.667) is still pulled down. Returns the mean over attributes, (B,).
    """

    def __init__(self, name="attribute_loss", reduction=MASKED_MEAN, **kwargs):
        kwargs.pop("epsilon", None)  # the clip of versions before 0.3, no longer used
        super().__init__(name=name, reduction=reduction, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        scores = ops.maximum(ops.cast(y_pred, "float32"), 0.0)
        bce = -(y_true * log_tanh(scores) + (1.0 - y_true) * log_one_minus_tanh(scores))
        return ops.mean(bce, axis=-1)


@keras.saving.register_keras_serializable(package="siam_training")
class SquaredError(MaskedMeanLoss):
    """(y_true - y_pred)^2 per sample, for scalar outputs of shape (B,)."""

    def __init__(self, name="squared_error", reduction=MASKED_MEAN, **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)

    def call(self, y_true, y_pred):
        return ops.square(ops.cast(y_true, "float32") - ops.cast(y_pred, "float32"))


@keras.saving.register_keras_serializable(package="siam_training")
class SoftmaxCrossEntropy(MaskedMeanLoss):
    """Softmax cross-entropy of (B, C) logits against (B,) class indices, per sample.

    A missing label (index < 0) is taken as class 0 here; its sample weight of 0
    masks it out of the loss.
    """

    def __init__(self, name="softmax_cross_entropy", reduction=MASKED_MEAN, **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)

    def call(self, y_true, y_pred):
        labels = ops.maximum(ops.cast(ops.reshape(y_true, (-1,)), "int32"), 0)
        return ops.sparse_categorical_crossentropy(labels, ops.cast(y_pred, "float32"),
                                                   from_logits=True)


@keras.saving.register_keras_serializable(package="siam_training")
class SigmoidCrossEntropy(MaskedMeanLoss):
    """Binary cross-entropy of (B, T) logits against (B, T) 0/1 tags, a sigmoid per tag,
    averaged over the tags: one value per sample (a row with a missing tag has sample
    weight 0)."""

    def __init__(self, name="sigmoid_cross_entropy", reduction=MASKED_MEAN, **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)

    def call(self, y_true, y_pred):
        return ops.mean(ops.binary_crossentropy(ops.cast(y_true, "float32"),
                                                ops.cast(y_pred, "float32"), from_logits=True),
                        axis=-1)


#: The losses by the name an `OutputKind` gives as its `loss`.
LOSSES = {"squared_error": SquaredError, "softmax_cross_entropy": SoftmaxCrossEntropy,
          "sigmoid_cross_entropy": SigmoidCrossEntropy}


def output_loss(kind):
    """The loss of an output of `kind` (`siam_keras.runtime.output_kinds`)."""
    return LOSSES[kind.loss]()


def siam_losses(outputs):
    """The SIAM objective's losses by output key: each output's kind's (`outputs`: {output:
    OutputKind}, or names of regression outputs) and `AttributeLoss` on `attribute_scores`."""
    losses = {name: output_loss(kind) for name, kind in kinds_of(outputs).items()}
    losses[vocabulary.ATTRIBUTE_SCORES] = AttributeLoss()
    return losses


def paper_weighted_loss(attribute_loss, output_loss, regularization_loss):
    """The authors' total loss: each term rescaled to the attribute loss, ratios detached.

    L_sun + 0.1 L_son (L_sun / L_son) + 0.001 L_T (L_sun / L_T): the output and template
    terms always weigh 0.1 and 0.001 of the attribute term, whatever their scales,
    while their gradients keep their own directions. A zero term adds nothing.
    """
    def rescaled(term, scale):
        ratio = ops.stop_gradient(ops.divide_no_nan(attribute_loss, term))
        return scale * term * ratio

    return (attribute_loss + rescaled(output_loss, PAPER_OUTPUT_SCALE)
            + rescaled(regularization_loss, PAPER_TEMPLATE_SCALE))
