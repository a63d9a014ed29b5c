"""The training job: data, SIAM, the unconstrained baseline, evaluation, files."""

import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from siam_keras import vocabulary
from siam_keras.evaluation.model_metrics import evaluate_model, synthetic_scenes_targets
from siam_keras.metrics.report import format_report
from siam_keras.models import build_baseline_model, build_siam_model
from siam_keras.plotting import plot_attribute_maps
from siam_keras.runtime.atomic import write_json
from training import datasets
from training.callbacks import AttributeMapImages
from training.fit import fit_stage
from training.losses import AttributeLoss, SquaredError, siam_losses
from training.run_folder import METRICS_FILE, prepare_run_folder
from training.validation import ValidationLosses
from training.weighting import PaperLossWeighting

NUM_FIGURE_IMAGES = 4


def dtype_policy(config):
    """The Keras dtype policy a config trains under (None: the global default)."""
    return "mixed_float16" if config.train.mixed_precision else None


def siam_model_from_config(config, attribute_names, output_names, initial_biases=None):
    """The SIAM model a config describes (the demo model for the demo config)."""
    return build_siam_model(
        attribute_names,
        output_names=output_names,
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


def loss_setup(config, outputs, with_outputs=True):
    """(losses, loss_weights) for `fit_stage`: the configured weights, or (None, None)
    when the paper's weighting computes the loss (`PaperLossWeighting`)."""
    if config.train.loss_weighting == "paper":
        return None, None
    weights = dict(config.train.output_loss_weights)
    unknown = sorted(set(weights) - set(outputs))
    if unknown:
        raise ValueError(f"train.output_loss_weights names unknown outputs {unknown}. Outputs: {outputs}")
    loss_weights = {name: weights.get(name, 1.0) if with_outputs else 0.0 for name in outputs}
    loss_weights[vocabulary.ATTRIBUTE_SCORES] = config.train.attribute_loss_weight
    return siam_losses(outputs), loss_weights


def trained_as(config, model, freeze_backbone=False):
    """Freezes `model`'s backbone if asked; returns the class `fit_stage` trains it as:
    `PaperLossWeighting` (which computes the paper's loss), or None (a plain model)."""
    model.backbone.trainable = not freeze_backbone
    return PaperLossWeighting if config.train.loss_weighting == "paper" else None


def validation(config, batches, outputs, with_attributes=True, with_outputs=True):
    """The `ValidationLosses` a stage selects its best model with: each target's mean loss
    over the validation samples that have its label, weighted by `train.attribute_loss_weight`
    and `train.output_loss_weights` (under either loss weighting)."""
    losses = {name: SquaredError() for name in outputs} if with_outputs else {}
    if with_attributes:
        losses[vocabulary.ATTRIBUTE_SCORES] = AttributeLoss()
    weights = {name: config.train.output_loss_weights.get(name, 1.0) for name in outputs}
    weights[vocabulary.ATTRIBUTE_SCORES] = config.train.attribute_loss_weight
    return ValidationLosses(batches, losses, weights, outputs if with_outputs else ())


def baseline_from_config(config, outputs, initial_biases):
    return build_baseline_model(
        outputs, backbone=config.model.backbone, image_size=config.data.image_size,
        backbone_weights=config.model.backbone_weights or None,
        initial_biases=initial_biases, dtype_policy=dtype_policy(config),
    )


def output_losses(config, outputs):
    """The baseline's losses and weights (it has outputs only)."""
    weights = config.train.output_loss_weights
    return ({name: SquaredError() for name in outputs},
            {name: weights.get(name, 1.0) for name in outputs})


def run(config, out_dir, overwrite=False, log=print):
    """Runs the whole job described by `config`; returns the metrics dict.

    Writes `out_dir/model.keras`, `history.csv`, `metrics.json`, `config.toml`,
    `attribute_maps.png`, `tensorboard/`, and `baseline/` for the baseline
    (`training.run_folder`: what is resumed, refused and replaced).
    """
    out = Path(out_dir)
    prepare_run_folder(out, config, overwrite, log)
    keras.utils.set_random_seed(config.train.seed)
    if dtype_policy(config) and not tf.config.list_physical_devices("GPU"):
        log("warning: mixed precision without a GPU trains about 5x slower than float32 on CPU")
    if config.data.dataset == "sun_scenic_or_not":
        from training.two_datasets import run_two_datasets

        metrics = run_two_datasets(config, out, log)
    else:
        metrics = run_synthetic(config, out, log)
    write_json(out / METRICS_FILE, metrics)
    log("\n" + format_report(metrics))
    log(f"\nWrote {out / 'model.keras'}, {out / METRICS_FILE}, {out / 'attribute_maps.png'}")
    return metrics


def run_synthetic(config, out, log=print):
    """SIAM and the baseline on `synthetic_scenes`; returns the metrics dict."""
    data, train_cfg = config.data, config.train
    scenes = datasets.synthetic_scenes(data)
    outputs, attributes = list(scenes.output_names), list(scenes.attribute_names)
    start = time.perf_counter()
    log(f"[1/4] Generating synthetic_scenes ({data.num_train} train, {data.num_validation} "
        f"validation, {data.num_test} test images of {data.image_size} px)")
    splits = {
        "train": scenes.generate("train", data.num_train),
        "validation": scenes.generate("validation", data.num_validation),
        "test": scenes.generate("test", data.num_test),
    }
    log(f"      done in {time.perf_counter() - start:.1f} s")
    steps = data.num_train // train_cfg.batch_size
    if steps < 1:
        raise ValueError(
            f"train.batch_size={train_cfg.batch_size} is larger than data.num_train={data.num_train}"
        )
    initial_biases = {name: float(np.nanmean(splits["train"][name])) for name in outputs}
    losses, loss_weights = loss_setup(config, outputs)

    def pipeline(split, with_attributes, training):
        targets, sample_weights = datasets.targets_and_weights(splits[split], outputs, with_attributes)
        return datasets.make_dataset(
            splits[split]["image"], targets, sample_weights, train_cfg.batch_size, training, train_cfg
        )

    log(f"[2/4] Training SIAM ({config.model.backbone}, {train_cfg.epochs} epochs of {steps} steps)")
    start = time.perf_counter()
    siam = siam_model_from_config(config, attributes, outputs, initial_biases)
    preview = splits["validation"]["image"][:NUM_FIGURE_IMAGES]
    siam = fit_stage(
        out, siam, losses, loss_weights,
        pipeline("train", True, True), validation(config, pipeline("validation", True, False), outputs),
        train_cfg.epochs, train_cfg, steps, trained_as=trained_as(config, siam, train_cfg.freeze_backbone),
        callbacks=[AttributeMapImages(out / "tensorboard" / "attribute_maps", preview, attributes)],
        log=log,
    )
    siam_seconds = time.perf_counter() - start

    log("[3/4] Evaluating SIAM on the test split")
    test = splits["test"]
    test_targets, truth = synthetic_scenes_targets(test, outputs)
    metrics, predictions = evaluate_model(siam, test["image"], test_targets, outputs, attributes, truth)
    shown = slice(0, NUM_FIGURE_IMAGES)
    plot_attribute_maps(
        out / "attribute_maps.png", test["image"][shown], predictions[vocabulary.ATTRIBUTE_MAPS][shown],
        attributes, labels=test["attributes"][shown],
        titles=[f"{outputs[0]}: {p:.2f} (true {t:.2f})"
                for p, t in zip(predictions[outputs[0]][shown], test[outputs[0]][shown])],
    )
    metrics = {"dataset": {"name": data.dataset, "split": "test", "num_images": data.num_test,
                           "image_size": data.image_size, "seed": data.seed}, **metrics}
    metrics["training"] = {"siam_seconds": round(siam_seconds, 1)}

    if config.baseline.enabled:
        log(f"[4/4] Training the unconstrained baseline ({config.baseline.epochs} epochs)")
        start = time.perf_counter()
        baseline = fit_stage(
            out / "baseline", baseline_from_config(config, outputs, initial_biases),
            *output_losses(config, outputs), pipeline("train", False, True),
            validation(config, pipeline("validation", False, False), outputs, with_attributes=False),
            config.baseline.epochs, train_cfg, steps, log=log,
        )
        baseline_metrics, _ = evaluate_model(baseline, test["image"], test_targets, outputs)
        metrics["baseline"] = baseline_metrics
        metrics["training"]["baseline_seconds"] = round(time.perf_counter() - start, 1)
    else:
        log("[4/4] Baseline disabled (baseline.enabled = false)")
    return metrics
