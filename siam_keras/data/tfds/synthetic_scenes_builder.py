"""`synthetic_scenes` as a TensorFlow Datasets builder (generated locally, no download).

Importing this module registers the builder (and imports tensorflow_datasets):

    import siam_keras.data.tfds.synthetic_scenes_builder  # noqa: F401
    builder = tfds.builder("synthetic_scenes/small", data_dir=...)
    builder.download_and_prepare()
    train = builder.as_dataset(split="train")
"""

import numpy as np
import tensorflow_datasets as tfds

from siam_keras import vocabulary
from siam_keras.data.synthetic_scenes import (
    DEFAULT_NOISE,
    DEFAULT_SPLIT_SIZES,
    DEFAULT_TEMPLATE_SIZE,
    SyntheticScenes,
)

_CHUNK = 256


class SyntheticScenesConfig(tfds.core.BuilderConfig):
    """Image size, split sizes and generator settings of one variant."""

    def __init__(self, *, image_size=64, template_size=DEFAULT_TEMPLATE_SIZE, noise=DEFAULT_NOISE,
                 seed=0, num_train=DEFAULT_SPLIT_SIZES["train"],
                 num_validation=DEFAULT_SPLIT_SIZES["validation"],
                 num_test=DEFAULT_SPLIT_SIZES["test"], **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.template_size = template_size
        self.noise = noise
        self.seed = seed
        self.split_sizes = {"train": num_train, "validation": num_validation, "test": num_test}


class SyntheticScenesBuilder(tfds.core.GeneratorBasedBuilder):
    """Landscape-like scenes with true masks, labels and a known SIAM scoring rule."""

    name = "synthetic_scenes"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [
        SyntheticScenesConfig(name="64px", description="The demo's data: 64 px, 4000/500/1000."),
        SyntheticScenesConfig(name="small", description="For tests: 32 px, 64/16/16.",
                              image_size=32, template_size=4, num_train=64, num_validation=16,
                              num_test=16),
    ]

    def _generator(self):
        c = self.builder_config
        return SyntheticScenes(image_size=c.image_size, template_size=c.template_size,
                               noise=c.noise, seed=c.seed)

    def _info(self):
        size, k = self.builder_config.image_size, len(SyntheticScenes.attribute_names)
        features = {
            "image": tfds.features.Image(shape=(size, size, 3)),
            "label_map": tfds.features.Tensor(shape=(size, size), dtype=np.uint8),
            "attributes": tfds.features.Tensor(shape=(k,), dtype=np.float32),
        }
        for name in vocabulary.PAPER_OUTPUTS:  # the TFDS builder keeps the paper's two
            features[name] = tfds.features.Scalar(dtype=np.float32)
            features[vocabulary.contributions_key(name)] = tfds.features.Tensor(
                shape=(k,), dtype=np.float32)
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Procedurally drawn scenes of the concepts "
                + ", ".join(SyntheticScenes.attribute_names)
                + "; label_map holds each pixel's concept id (len(concepts) = bare ground)."
            ),
            features=tfds.features.FeaturesDict(features),
            homepage="https://github.com/siam-keras/siam-keras",
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split, n)
                for split, n in self.builder_config.split_sizes.items()}

    def _generate_examples(self, split, num_images):
        scenes = self._generator()
        for start in range(0, num_images, _CHUNK):
            batch = scenes.generate(split, min(_CHUNK, num_images - start), start=start)
            for i in range(len(batch["image"])):
                yield f"{split}_{start + i:07d}", {key: value[i] for key, value in batch.items()}
