"""Training with the authors' loss rescaling (`paper_weighted_loss`), inside `model.fit`."""

import keras
from keras import ops

from siam_keras import vocabulary
from training.losses import LOSSES, AttributeLoss, paper_weighted_loss
from training.replicas import ReplicaSafeModel, num_replicas


class PaperLossWeighting(ReplicaSafeModel):
    """A SIAM model's graph, trained with L_sun + 0.1 L_son (L_sun/L_son) + 0.001 L_T (L_sun/L_T).

    Built as `PaperLossWeighting(model.input, model.output, name=model.name)` (the
    layers and weights are the model's), compiled without losses: `compute_loss`
    takes the attribute loss (L_sun), the sum of the output losses (L_son) and the
    regularisers (L_T: template and contribution L1), each a mean over the samples
    that have its label, and logs `attribute_loss` and `output_loss`. Each output's loss is
    its kind's (`OutputKind.loss`, read from the graph's SIAM head). Training saves a
    plain functional model; this class only exists while fitting.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.attribute_loss = AttributeLoss()
        head = next(layer for layer in self.layers if hasattr(layer, "output_kinds"))
        self.output_losses = {name: LOSSES[kind.loss]() for name, kind in head.output_kinds.items()}
        self.attribute_loss_tracker = keras.metrics.Mean(name="attribute_loss")
        self.output_loss_tracker = keras.metrics.Mean(name="output_loss")

    @property
    def metrics(self):
        return [*super().metrics, self.attribute_loss_tracker, self.output_loss_tracker]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        weights = sample_weight or {}
        key = vocabulary.ATTRIBUTE_SCORES
        attribute = self.attribute_loss(y[key], y_pred[key], weights.get(key))
        outputs = [name for name in y if name != key]
        # Sums of stacked terms: JAX's `ops.sum` takes no list of traced values.
        output = ops.sum(ops.stack([
            self.output_losses[name](y[name], y_pred[name], weights.get(name))
            for name in outputs])) if outputs else ops.zeros(())
        regularization = ops.sum(ops.stack(self.losses)) if self.losses else ops.zeros(())
        # Under TensorFlow replicas Keras divides each loss by their number (the replicas'
        # gradients are summed): the logs show each replica's own loss.
        replicas = num_replicas()
        self.attribute_loss_tracker.update_state(attribute * replicas)
        self.output_loss_tracker.update_state(output * replicas)
        return paper_weighted_loss(attribute, output, regularization)
