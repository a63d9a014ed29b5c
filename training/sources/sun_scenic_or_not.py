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

import numpy as np
import tensorflow as tf

from siam_keras import vocabulary
from siam_keras.data.tfds import scenic_or_not, sun_attributes
from siam_keras.metrics.attribute_metrics import attribute_metrics
from siam_keras.metrics.regression import regression_report
from siam_keras.plotting import plot_attribute_maps
from siam_keras.runtime.output_kinds import kinds_of
from training import datasets
from training.sources.base import NUM_FIGURE_IMAGES, DataSource

SUN, SON = sun_attributes.NAME, scenic_or_not.NAME
OUTPUTS = vocabulary.PAPER_OUTPUTS


def prepared_builder(name, config_name, manual_dir, data_dir, log=print):
    """The TFDS builder `name/config_name`, prepared from `manual_dir` if not yet."""
    import tensorflow_datasets as tfds

    from siam_keras.data import register_tfds_builders

    register_tfds_builders()

    builder = tfds.builder(f"{name}/{config_name}", data_dir=data_dir or None)
    if not builder.is_prepared():
        log(f"      preparing {name}/{config_name} from {manual_dir} (once)")
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
            manual_dir=str(manual_dir), try_download_gcs=False))
    skipped = builder.info.metadata.get("skipped", {}).get("counts", {})
    sizes = {split: info.num_examples for split, info in builder.info.splits.items()}
    log(f"      {name}/{config_name}: {sizes}" + (f"; left out: {skipped}" if skipped else ""))
    return builder


def _examples(builder, split, limit, seed=0):
    """The examples of `split` (at most `limit`): the training split's files in an order
    drawn from `seed`, the same for every iterator (and every process of a job), as
    `TrainingBatches` needs; its passes shuffle the rows."""
    import tensorflow_datasets as tfds

    read_config = tfds.ReadConfig(shuffle_seed=seed, shuffle_reshuffle_each_iteration=False)
    dataset = builder.as_dataset(split=split, shuffle_files=split == "train",
                                 read_config=read_config)
    return dataset.take(limit) if limit else dataset


def _pixels(image, size):
    """Any image -> (size, size, 3) uint8, resized whole (antialiased bilinear)."""
    resized = tf.image.resize(tf.cast(image, tf.float32), (size, size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def sun_examples(builder, split, size, num_attributes, limit=0, seed=0):
    """(pixels, targets, weights): attribute labels, outputs masked."""
    def convert(example):
        targets = {vocabulary.ATTRIBUTE_SCORES: example["attributes"],
                   **{name: tf.constant(0.0) for name in OUTPUTS}}
        weights = {vocabulary.ATTRIBUTE_SCORES: tf.constant(1.0),
                   **{name: tf.constant(0.0) for name in OUTPUTS}}
        return _pixels(example["image"], size), targets, weights

    return _examples(builder, split, limit, seed).map(convert, num_parallel_calls=tf.data.AUTOTUNE)


def son_examples(builder, split, size, num_attributes, limit=0, seed=0):
    """(pixels, targets, weights): the two outputs, attributes masked (num_attributes 0:
    no attribute target at all, for the baseline)."""
    def convert(example):
        targets = {name: example[name] for name in OUTPUTS}
        weights = {name: tf.constant(1.0) for name in OUTPUTS}
        if num_attributes:
            targets[vocabulary.ATTRIBUTE_SCORES] = tf.zeros([num_attributes])
            weights[vocabulary.ATTRIBUTE_SCORES] = tf.constant(0.0)
        return _pixels(example["image"], size), targets, weights

    return _examples(builder, split, limit, seed).map(convert, num_parallel_calls=tf.data.AUTOTUNE)


def predict(model, batches):
    """(predictions, targets): dicts of NumPy arrays over every batch."""
    predictions, targets = {}, {}
    for images, labels, _ in batches.as_numpy_iterator():  # NumPy: every backend takes it
        for key, value in model.predict_on_batch(images).items():
            predictions.setdefault(key, []).append(np.asarray(value))
        for key, value in labels.items():
            targets.setdefault(key, []).append(value)
    join = lambda parts: {k: np.concatenate(v) for k, v in parts.items()}  # noqa: E731
    return join(predictions), join(targets)


def evaluate(model, sun_test, son_test, attributes, batch_size):
    """The paper's protocol: outputs on ScenicOrNot's test split, APs on SUN's."""
    son_predictions, son_targets = predict(model, datasets.evaluation_batches([son_test], batch_size))
    report = {"outputs": {
        name: {"num_images": int(len(son_targets[name])),
               **regression_report(son_targets[name], son_predictions[name])}
        for name in OUTPUTS}}
    if vocabulary.ATTRIBUTE_SCORES in son_predictions:
        sun_predictions, sun_targets = predict(model, datasets.evaluation_batches([sun_test], batch_size))
        report["attributes"] = attribute_metrics(
            sun_targets[vocabulary.ATTRIBUTE_SCORES], sun_predictions[vocabulary.ATTRIBUTE_SCORES],
            attributes)
    return report, son_predictions


def output_label_means(builder, limit):
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


class SunScenicOrNotSource(DataSource):
    """SUN Attributes (attribute labels) and ScenicOrNot (outputs), the paper's pair.

    Training batches take `batch_size` images of each dataset that has a target asked
    for (attributes: SUN; outputs: ScenicOrNot), endlessly; validation and evaluation
    keep each dataset apart (a batch holds one).
    """

    def prepare(self):
        data = self.config.data.sun_scenic_or_not
        self.log("[1/4] Datasets")
        self.sun = prepared_builder(SUN, data.sun_config, data.sun_manual_dir, data.tfds_data_dir,
                                    self.log)
        self.son = prepared_builder(SON, data.son_config, data.son_manual_dir, data.tfds_data_dir,
                                    self.log)
        self.attribute_names = tuple(self.sun.info.metadata["attribute_names"])
        self.output_names = tuple(OUTPUTS)
        self.output_kinds = kinds_of(OUTPUTS)

    def _split(self, builder, examples, name, with_attributes=True):
        num_attributes = len(self.attribute_names) if with_attributes else 0
        return examples(builder, name, self.config.data.image_size, num_attributes,
                        self.config.data.sun_scenic_or_not.max_examples, self.config.train.seed)

    def _parts(self, split, with_attributes, with_outputs):
        parts = []
        if with_attributes:
            parts.append(self._split(self.sun, sun_examples, split))
        if with_outputs:
            parts.append(self._split(self.son, son_examples, split, with_attributes))
        return parts

    def steps_per_pass(self):
        limit = self.config.data.sun_scenic_or_not.max_examples or math.inf
        sizes = [min(b.info.splits["train"].num_examples, limit) for b in (self.sun, self.son)]
        return math.ceil(max(sizes) / self.config.train.batch_size)

    def label_means(self):
        return output_label_means(self.son, self.config.data.sun_scenic_or_not.max_examples)

    def training_data(self, with_attributes=True, with_outputs=True):
        return datasets.mixed_batches(self._parts("train", with_attributes, with_outputs),
                             self.config.train.batch_size, self.config.train)

    def validation_data(self, with_attributes=True, with_outputs=True):
        return datasets.evaluation_batches(self._parts("validation", with_attributes, with_outputs),
                                  self.config.train.batch_size)

    def evaluate(self, model):
        with_attributes = vocabulary.ATTRIBUTE_SCORES in model.output
        son_test = self._split(self.son, son_examples, "test", with_attributes)
        sun_test = self._split(self.sun, sun_examples, "test")
        return evaluate(model, sun_test, son_test, list(self.attribute_names),
                        self.config.train.batch_size)

    def plot_preview(self, path, predictions):
        son_test = self._split(self.son, son_examples, "test")
        batches = datasets.evaluation_batches([son_test], self.config.train.batch_size).take(1)
        images = np.concatenate([x.numpy() for x, _, _ in batches])
        shown, first = slice(0, NUM_FIGURE_IMAGES), OUTPUTS[0]
        plot_attribute_maps(path, images[shown].astype(np.uint8),
                            predictions[vocabulary.ATTRIBUTE_MAPS][shown], list(self.attribute_names),
                            titles=[f"{first}: {p:.2f}" for p in predictions[first][shown]])

    def description(self):
        data, tables = self.config.data, self.config.data.sun_scenic_or_not
        return {"name": data.dataset, "split": "test", "image_size": data.image_size,
                "sun_attributes": tables.sun_config, "scenic_or_not": tables.son_config}
