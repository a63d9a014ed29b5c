"""The paper's two-dataset training: SUN Attributes and ScenicOrNot, mixed in every step.

Every training step takes `batch_size` SUN images (attribute labels only) and
`batch_size` ScenicOrNot images (scores only) in one batch; a missing label has
sample weight 0, and each loss is a mean over the samples that have its label, so
each dataset trains only its own head's targets. An optional first stage trains the
attributes alone; the backbone can be frozen in either stage. Evaluation follows the
paper's protocol: Kendall's tau, Spearman, RMSE (and R^2) of each output on
ScenicOrNot's test split, per-attribute AP and mAP on SUN's.
"""

import math
import time

import numpy as np
import tensorflow as tf

from siam_keras import vocabulary
from siam_keras.metrics.average_precision import attribute_average_precision
from siam_keras.metrics.regression import regression_report
from siam_keras.plotting import plot_attribute_maps
from training import datasets
from training.fit import fit_stage

SUN, SON = "sun_attributes", "scenic_or_not"
OUTPUTS = vocabulary.PAPER_OUTPUTS
SHUFFLE_BUFFER = 256
NUM_FIGURE_IMAGES = 4


def prepared_builder(name, config_name, manual_dir, data_dir, log=print):
    """The TFDS builder `name/config_name`, prepared from `manual_dir` if not yet."""
    import tensorflow_datasets as tfds

    import siam_keras.data  # noqa: F401  (registers the builders)

    builder = tfds.builder(f"{name}/{config_name}", data_dir=data_dir or None)
    if not builder.is_prepared():
        log(f"      preparing {name}/{config_name} from {manual_dir} (once)")
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
            manual_dir=str(manual_dir), try_download_gcs=False))
    skipped = builder.info.metadata.get("skipped", {}).get("counts", {})
    sizes = {split: info.num_examples for split, info in builder.info.splits.items()}
    log(f"      {name}/{config_name}: {sizes}" + (f"; left out: {skipped}" if skipped else ""))
    return builder


def _examples(builder, split, limit):
    dataset = builder.as_dataset(split=split, shuffle_files=split == "train")
    return dataset.take(limit) if limit else dataset


def _pixels(image, size):
    """Any image -> (size, size, 3) uint8, resized whole (antialiased bilinear)."""
    resized = tf.image.resize(tf.cast(image, tf.float32), (size, size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def sun_examples(builder, split, size, num_attributes, limit=0):
    """(pixels, targets, weights): attribute labels, outputs masked."""
    def convert(example):
        targets = {vocabulary.ATTRIBUTE_SCORES: example["attributes"],
                   **{name: tf.constant(0.0) for name in OUTPUTS}}
        weights = {vocabulary.ATTRIBUTE_SCORES: tf.constant(1.0),
                   **{name: tf.constant(0.0) for name in OUTPUTS}}
        return _pixels(example["image"], size), targets, weights

    return _examples(builder, split, limit).map(convert, num_parallel_calls=tf.data.AUTOTUNE)


def son_examples(builder, split, size, num_attributes, limit=0):
    """(pixels, targets, weights): the two outputs, attributes masked (num_attributes 0:
    no attribute target at all, for the baseline)."""
    def convert(example):
        targets = {name: example[name] for name in OUTPUTS}
        weights = {name: tf.constant(1.0) for name in OUTPUTS}
        if num_attributes:
            targets[vocabulary.ATTRIBUTE_SCORES] = tf.zeros([num_attributes])
            weights[vocabulary.ATTRIBUTE_SCORES] = tf.constant(0.0)
        return _pixels(example["image"], size), targets, weights

    return _examples(builder, split, limit).map(convert, num_parallel_calls=tf.data.AUTOTUNE)


def mixed_batches(parts, batch_size, train_config):
    """Endless training batches: `batch_size` examples of each part, concatenated."""
    batched = tuple(
        part.shuffle(SHUFFLE_BUFFER, seed=train_config.seed + i, reshuffle_each_iteration=True)
        .repeat().batch(batch_size, drop_remainder=True)
        for i, part in enumerate(parts))
    if len(batched) == 1:
        mixed = batched[0]
    else:
        mixed = tf.data.Dataset.zip(batched).map(
            lambda *batches: tf.nest.map_structure(lambda *t: tf.concat(t, axis=0), *batches))
    return datasets.finish_batches(mixed, True, train_config)


def evaluation_batches(parts, batch_size):
    """Each part batched on its own (a batch holds one dataset), one after the other."""
    batched = [part.batch(batch_size) for part in parts]
    combined = batched[0]
    for more in batched[1:]:
        combined = combined.concatenate(more)
    return datasets.finish_batches(combined, False)


def predict(model, batches):
    """(predictions, targets): dicts of NumPy arrays over every batch."""
    predictions, targets = {}, {}
    for images, labels, _ in batches:
        for key, value in model.predict_on_batch(images).items():
            predictions.setdefault(key, []).append(np.asarray(value))
        for key, value in labels.items():
            targets.setdefault(key, []).append(value.numpy())
    join = lambda parts: {k: np.concatenate(v) for k, v in parts.items()}  # noqa: E731
    return join(predictions), join(targets)


def evaluate(model, sun_test, son_test, attributes, batch_size):
    """The paper's protocol: outputs on ScenicOrNot's test split, APs on SUN's."""
    son_predictions, son_targets = predict(model, evaluation_batches([son_test], batch_size))
    report = {"outputs": {
        name: {"num_images": int(len(son_targets[name])),
               **regression_report(son_targets[name], son_predictions[name])}
        for name in OUTPUTS}}
    if vocabulary.ATTRIBUTE_SCORES in son_predictions:
        sun_predictions, sun_targets = predict(model, evaluation_batches([sun_test], batch_size))
        report["attributes"] = attribute_average_precision(
            sun_targets[vocabulary.ATTRIBUTE_SCORES], sun_predictions[vocabulary.ATTRIBUTE_SCORES],
            attributes)
    return report, son_predictions


def initial_biases(builder, limit):
    """Each output's mean on ScenicOrNot's training split (the paper's initial bias)."""
    import tensorflow_datasets as tfds

    labels = builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
    if limit:
        labels = labels.take(limit)
    sums = {name: [] for name in OUTPUTS}
    for example in labels.batch(1024):
        for name in OUTPUTS:
            sums[name].append(example[name].numpy())
    return {name: float(np.mean(np.concatenate(values))) for name, values in sums.items()}


def run_two_datasets(config, out, log=print):
    """Trains and evaluates SIAM (and the baseline) on SUN Attributes + ScenicOrNot."""
    from training.run import (
        baseline_from_config,
        loss_setup,
        output_losses,
        siam_model_from_config,
        trained_as,
        validation,
    )

    data, train_cfg = config.data, config.train
    size, batch, limit = data.image_size, train_cfg.batch_size, data.max_examples
    log("[1/4] Datasets")
    sun = prepared_builder(SUN, data.sun_config, data.sun_manual_dir, data.tfds_data_dir, log)
    son = prepared_builder(SON, data.son_config, data.son_manual_dir, data.tfds_data_dir, log)
    attributes = list(sun.info.metadata["attribute_names"])
    k = len(attributes)

    def split(builder, examples, name, num_attributes=k):
        return examples(builder, name, size, num_attributes, limit)

    train_sizes = [min(b.info.splits["train"].num_examples, limit or math.inf) for b in (sun, son)]
    steps = train_cfg.steps_per_epoch or math.ceil(max(train_sizes) / batch)
    biases = initial_biases(son, limit)
    siam = siam_model_from_config(config, attributes, list(OUTPUTS), biases)
    sun_validation = split(sun, sun_examples, "validation")
    start = time.perf_counter()
    if train_cfg.attribute_epochs:
        log(f"[2/4] Training SIAM: attributes first ({train_cfg.attribute_epochs} epochs of {steps} "
            f"steps, SUN only{', backbone frozen' if train_cfg.freeze_backbone_attribute_stage else ''})")
        losses, weights = loss_setup(config, list(OUTPUTS), with_outputs=False)
        siam = fit_stage(
            out / "attribute_stage", siam, losses, weights,
            mixed_batches([split(sun, sun_examples, "train")], batch, train_cfg),
            validation(config, evaluation_batches([sun_validation], batch), OUTPUTS,
                       with_outputs=False),
            train_cfg.attribute_epochs, train_cfg, steps, log=log,
            trained_as=trained_as(config, siam, train_cfg.freeze_backbone_attribute_stage))
    log(f"[2/4] Training SIAM: both datasets ({train_cfg.epochs} epochs of {steps} steps of "
        f"{batch} + {batch} images, {train_cfg.loss_weighting} loss weighting; the best epoch by "
        "validation on both)")
    losses, weights = loss_setup(config, list(OUTPUTS))
    both = evaluation_batches([sun_validation, split(son, son_examples, "validation")], batch)
    siam = fit_stage(out, siam, losses, weights,
                     mixed_batches([split(sun, sun_examples, "train"),
                                    split(son, son_examples, "train")], batch, train_cfg),
                     validation(config, both, OUTPUTS), train_cfg.epochs, train_cfg, steps, log=log,
                     trained_as=trained_as(config, siam, train_cfg.freeze_backbone))
    seconds = time.perf_counter() - start

    log("[3/4] Evaluating SIAM: ScenicOrNot test (outputs), SUN test (attributes)")
    son_test, sun_test = split(son, son_examples, "test"), split(sun, sun_examples, "test")
    metrics, predictions = evaluate(siam, sun_test, son_test, attributes, batch)
    images = np.concatenate([x.numpy() for x, _, _ in evaluation_batches([son_test], batch).take(1)])
    shown = slice(0, NUM_FIGURE_IMAGES)
    plot_attribute_maps(out / "attribute_maps.png", images[shown].astype(np.uint8),
                        predictions[vocabulary.ATTRIBUTE_MAPS][shown], attributes,
                        titles=[f"{OUTPUTS[0]}: {p:.2f}" for p in predictions[OUTPUTS[0]][shown]])
    metrics = {"dataset": {"name": data.dataset, "split": "test", "image_size": size,
                           "sun_attributes": data.sun_config, "scenic_or_not": data.son_config,
                           "num_images": metrics["outputs"][OUTPUTS[0]]["num_images"]},
               **metrics, "training": {"siam_seconds": round(seconds, 1), "steps_per_epoch": steps}}
    if config.baseline.enabled:
        log(f"[4/4] Training the unconstrained baseline on ScenicOrNot ({config.baseline.epochs} "
            "epochs)")
        start = time.perf_counter()
        baseline = fit_stage(
            out / "baseline", baseline_from_config(config, list(OUTPUTS), biases),
            *output_losses(config, OUTPUTS),
            mixed_batches([split(son, son_examples, "train", 0)], batch, train_cfg),
            validation(config, evaluation_batches([split(son, son_examples, "validation", 0)], batch),
                       OUTPUTS, with_attributes=False),
            config.baseline.epochs, train_cfg, steps, log=log)
        metrics["baseline"], _ = evaluate(baseline, sun_test, son_test, attributes, batch)
        metrics["training"]["baseline_seconds"] = round(time.perf_counter() - start, 1)
    else:
        log("[4/4] Baseline disabled (baseline.enabled = false)")
    return metrics
