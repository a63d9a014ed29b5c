"""`ManifestSource`: your own photos and labels, listed in manifest files.

Each manifest file is a part, as SUN Attributes and ScenicOrNot are in the paper's
training: every training step takes `batch_size` photos of each file that has a label
for the targets trained, and a label a row lacks has sample weight 0, so that a file
with attributes only adds exactly nothing to the outputs' losses, and the other way
round. The photos are decoded once, at the model's input size, and kept in memory.
"""

import math

import numpy as np
import tensorflow as tf

from siam_keras import vocabulary
from siam_keras.data.manifest.splits import ATTRIBUTES, read_manifest_splits
from siam_keras.evaluation.model_metrics import evaluate_model
from siam_keras.plotting import plot_attribute_maps
from training import datasets
from training.sources.base import NUM_FIGURE_IMAGES, DataSource, label_means
from training.sources.synthetic_scenes import prediction_titles


class ManifestSource(DataSource):
    """`manifest`: the files of `[data.manifest]`, their rows in train, validation and
    test splits (the split column's, or a hashed 80/10/10)."""

    def prepare(self):
        table = self.config.data.manifest
        self.log(f"[1/4] Reading {len(table.files)} manifest file(s) and their photos "
                 f"({self.config.data.image_size} px)")
        self.data = read_manifest_splits(table, self.config.data.image_size, log=self.log)
        self.attribute_names = self.data.attribute_names
        self.output_names = self.data.output_names
        self.output_kinds = dict(self.data.output_kinds)
        counts = self.data.counts()
        empty = [split for split in ("train", "validation", "test") if not counts.get(split)]
        if empty:
            raise ValueError(f"The manifest has no usable {' or '.join(empty)} rows (usable rows "
                             f"per split: {counts}). Each split needs some: add rows, or set "
                             "data.manifest.split_column")

    def _parts(self, split, with_attributes, with_outputs):
        """(part, targets, weights) of each file that has a label for a target asked."""
        chosen = []
        asked = ([ATTRIBUTES] if with_attributes else []) + (
            list(self.output_names) if with_outputs else [])
        for part in self.data.parts[split]:
            if not any(part.has_labels(key) for key in asked):
                continue
            # `ManifestPart.labels` has the layout of a generated split ("attributes" too).
            targets, weights = datasets.targets_and_weights(part.labels, self.output_kinds,
                                                            with_attributes)
            if not with_outputs:  # kept as targets, masked: the losses stay the same
                weights.update({name: np.zeros_like(weights[name]) for name in self.output_names})
            chosen.append((part, targets, weights))
        return chosen

    def _arrays(self, split, with_attributes, with_outputs):
        return [(part.images, targets, weights)
                for part, targets, weights in self._parts(split, with_attributes, with_outputs)]

    def _datasets(self, split, with_attributes, with_outputs):
        return [tf.data.Dataset.from_tensor_slices(arrays)
                for arrays in self._arrays(split, with_attributes, with_outputs)]

    def steps_per_pass(self):
        largest = max(len(part) for part in self.data.parts["train"])
        return math.ceil(largest / self.config.train.batch_size)

    def label_means(self):
        _, labels = self.data.joined("train")
        return label_means(labels, self.output_kinds)

    def training_data(self, with_attributes=True, with_outputs=True):
        parts = self._arrays("train", with_attributes, with_outputs)
        if not parts:
            raise ValueError("No manifest file has training labels for the targets trained")
        return datasets.mixed_batches(parts, self.config.train.batch_size, self.config.train)

    def validation_data(self, with_attributes=True, with_outputs=True):
        parts = self._datasets("validation", with_attributes, with_outputs)
        return datasets.evaluation_batches(parts or self._datasets("validation", True, True),
                                           self.config.train.batch_size)

    def preview_images(self):
        images, _ = self.data.joined("validation")
        return images[:NUM_FIGURE_IMAGES]

    def evaluate(self, model):
        images, labels = self.data.joined("test")
        return evaluate_model(model, images, labels, self.output_names,
                              list(self.attribute_names), output_kinds=self.output_kinds,
                              batch_size=self.config.train.batch_size)

    def plot_preview(self, path, predictions):
        images, labels = self.data.joined("test")
        shown, first = slice(0, NUM_FIGURE_IMAGES), self.output_names[0]
        plot_attribute_maps(
            path, images[shown], predictions[vocabulary.ATTRIBUTE_MAPS][shown],
            list(self.attribute_names), labels=np.nan_to_num(labels[ATTRIBUTES][shown]),
            titles=prediction_titles(first, predictions[first][shown], labels[first][shown],
                                     self.output_kinds[first]))

    def description(self):
        table = self.config.data.manifest
        return {"name": self.config.data.dataset, "split": "test",
                "num_images": self.data.counts().get("test", 0),
                "image_size": self.config.data.image_size, "files": list(table.files),
                "rows": self.data.counts(), **self.data.problem_report()}
