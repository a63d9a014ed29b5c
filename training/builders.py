"""What a config builds: the SIAM model, the baseline, their losses, and the selection.

One place for the config -> model and config -> loss decisions, whatever the data
source; the training job (`training.run`) and the benchmarks call these.
"""

from siam_keras import vocabulary
from siam_keras.models import build_baseline_model, build_siam_model
from siam_keras.runtime.output_kinds import kinds_of
from training.losses import AttributeLoss, output_loss, siam_losses
from training.validation import ValidationLosses
from training.weighting import PaperLossWeighting


def dtype_policy(config):
    """The Keras dtype policy a config trains under (None: the global default)."""
    return "mixed_float16" if config.train.mixed_precision else None


def siam_model_from_config(config, attribute_names, outputs, initial_biases=None):
    """The SIAM model a config describes (the demo model for the demo config); `outputs`:
    {output: OutputKind}, or names of regression outputs."""
    kinds = kinds_of(outputs)
    return build_siam_model(
        attribute_names,
        output_names=tuple(kinds),
        output_kinds=kinds,
        class_templates=config.model.class_templates,
        backbone=config.model.backbone,
        image_size=config.data.image_size,
        backbone_weights=config.model.backbone_weights or None,
        head=config.model.head,
        num_templates=config.model.num_templates,
        template_size=config.model.template_size,
        border_size=config.model.border_size,
        initial_biases=initial_biases,
        template_l1=config.train.template_l1,
        contribution_l1=config.train.contribution_l1,
        dtype_policy=dtype_policy(config),
    )


def output_weights(config, outputs):
    """{output: its weight}: `train.output_loss_weights`, 1 for an output not listed."""
    return {name: config.train.output_loss_weights.get(name, 1.0) for name in outputs}


def loss_setup(config, outputs, with_outputs=True):
    """(losses, loss_weights) for `fit_stage`: the configured weights, or (None, None)
    when the paper's weighting computes the loss (`PaperLossWeighting`)."""
    if config.train.loss_weighting == "paper":
        return None, None
    unknown = sorted(set(config.train.output_loss_weights) - set(outputs))
    if unknown:
        raise ValueError(f"train.output_loss_weights names unknown outputs {unknown}. Outputs: "
                         f"{list(outputs)}")
    loss_weights = {name: weight if with_outputs else 0.0
                    for name, weight in output_weights(config, outputs).items()}
    loss_weights[vocabulary.ATTRIBUTE_SCORES] = config.train.attribute_loss_weight
    return siam_losses(outputs), loss_weights


def trained_as(config, model, freeze_backbone=False, attributes_only=False):
    """Freezes `model`'s backbone if asked, and its output head (templates, mixing, biases)
    for a stage that trains the attributes alone (unused there, the template and
    contribution penalties would otherwise shrink them to zero, where no gradient revives
    them); returns the class `fit_stage` trains it as: `PaperLossWeighting` (which
    computes the paper's loss), or None (a plain model)."""
    model.backbone.trainable = not freeze_backbone
    head = model.siam_head
    for weights in (head.templates, head.mixing, head.biases):
        for variable in weights.values():
            variable.trainable = not attributes_only
    return PaperLossWeighting if config.train.loss_weighting == "paper" else None


def validation(config, batches, outputs, with_attributes=True, with_outputs=True,
               attribute_names=(), log=print):
    """The `ValidationLosses` a stage selects its best model with: each target's mean loss
    over the validation samples that have its label, weighted by `train.attribute_loss_weight`
    and `train.output_loss_weights` (under either loss weighting)."""
    kinds = kinds_of(outputs)
    losses = {name: output_loss(kind) for name, kind in kinds.items()} if with_outputs else {}
    if with_attributes:
        losses[vocabulary.ATTRIBUTE_SCORES] = AttributeLoss()
    weights = output_weights(config, outputs)
    weights[vocabulary.ATTRIBUTE_SCORES] = config.train.attribute_loss_weight
    return ValidationLosses(batches, losses, weights, kinds if with_outputs else {},
                            attribute_names=attribute_names if with_attributes else (), log=log)


def baseline_from_config(config, outputs, initial_biases):
    kinds = kinds_of(outputs)
    return build_baseline_model(
        tuple(kinds), backbone=config.model.backbone, image_size=config.data.image_size,
        backbone_weights=config.model.backbone_weights or None,
        initial_biases=initial_biases, output_kinds=kinds,
        dtype_policy=dtype_policy(config),
    )


def output_losses(config, outputs):
    """The baseline's losses and weights (it has outputs only)."""
    return ({name: output_loss(kind) for name, kind in kinds_of(outputs).items()},
            output_weights(config, outputs))
