"""`SyntheticScenesSource`: the built-in generated data, in memory."""

import time

import numpy as np

from siam_keras import vocabulary
from siam_keras.evaluation.model_metrics import evaluate_model, synthetic_scenes_targets
from siam_keras.plotting import plot_attribute_maps
from training import datasets
from training.sources.base import NUM_FIGURE_IMAGES, DataSource, label_means


class SyntheticScenesSource(DataSource):
    """`synthetic_scenes`: train, validation and test splits generated from the seed,
    every label known (also the true contributions, for `ground_truth` metrics)."""

    def prepare(self):
        data = self.config.data.synthetic_scenes
        scenes = datasets.synthetic_scenes(self.config.data)
        self.output_names = tuple(scenes.output_names)
        self.output_kinds = dict(scenes.output_kinds)
        self.attribute_names = tuple(scenes.attribute_names)
        start = time.perf_counter()
        self.log(f"[1/4] Generating synthetic_scenes ({data.num_train} train, "
                 f"{data.num_validation} validation, {data.num_test} test images of "
                 f"{self.config.data.image_size} px)")
        self.splits = {split: scenes.generate(split, count) for split, count in (
            ("train", data.num_train), ("validation", data.num_validation),
            ("test", data.num_test))}
        self.log(f"      done in {time.perf_counter() - start:.1f} s")
        if self.steps_per_pass() < 1:
            raise ValueError(f"train.batch_size={self.config.train.batch_size} is larger than "
                             f"data.synthetic_scenes.num_train={data.num_train}")

    def steps_per_pass(self):
        return self.config.data.synthetic_scenes.num_train // self.config.train.batch_size

    def label_means(self):
        return label_means(self.splits["train"], self.output_kinds)

    def _pipeline(self, split, with_attributes, with_outputs, training):
        targets, weights = datasets.targets_and_weights(self.splits[split], self.output_kinds,
                                                        with_attributes)
        if not with_outputs:  # kept as targets, masked: the losses stay the same
            weights.update({name: np.zeros_like(weights[name]) for name in self.output_names})
        return datasets.make_dataset(self.splits[split]["image"], targets, weights,
                                     self.config.train.batch_size, training, self.config.train)

    def training_data(self, with_attributes=True, with_outputs=True):
        return self._pipeline("train", with_attributes, with_outputs, True)

    def validation_data(self, with_attributes=True, with_outputs=True):
        return self._pipeline("validation", with_attributes, with_outputs, False)

    def preview_images(self):
        return self.splits["validation"]["image"][:NUM_FIGURE_IMAGES]

    def evaluate(self, model):
        test = self.splits["test"]
        targets, truth = synthetic_scenes_targets(test, self.output_names)
        return evaluate_model(model, test["image"], targets, self.output_names,
                              list(self.attribute_names), truth, output_kinds=self.output_kinds)

    def plot_preview(self, path, predictions):
        test, shown, first = self.splits["test"], slice(0, NUM_FIGURE_IMAGES), self.output_names[0]
        plot_attribute_maps(
            path, test["image"][shown], predictions[vocabulary.ATTRIBUTE_MAPS][shown],
            list(self.attribute_names), labels=test["attributes"][shown],
            titles=prediction_titles(first, predictions[first][shown], test[first][shown],
                                     self.output_kinds[first]))

    def description(self):
        data = self.config.data
        return {"name": data.dataset, "split": "test",
                "num_images": data.synthetic_scenes.num_test, "image_size": data.image_size,
                "seed": data.synthetic_scenes.seed}


def prediction_titles(output, predicted, true, kind):
    """`output: predicted (true ...)` per image (`OutputKind.title`)."""
    return [f"{output}: {kind.title(p, t)}" for p, t in zip(predicted, true)]
