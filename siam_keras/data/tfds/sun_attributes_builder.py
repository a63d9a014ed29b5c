"""`sun_attributes`: the SUN Attribute Database as a TensorFlow Datasets builder (manual).

Configs: `paper33` (the SIAM paper's 33 attributes through our explicit mapping,
`sun_attribute_mapping`), `authors33` (the same 33 with the authors' own labels, read
from their `attributes2.mat` and `attributeLabels_continuous2.mat`; how our mapping
agrees with them is kept as `mapping_agreement`) and `all102`; any other mapping
through `SunAttributesConfig(name=..., mapping=...)`.
Splits: 80/10/10 by `sun_attributes.split_of`, saved in the dataset's metadata
(`split_files`), with the images left out (`skipped`).
"""

import numpy as np
import tensorflow_datasets as tfds

from siam_keras.data.tfds import sun_attributes as sun
from siam_keras.data.tfds.common import SkippedFiles, manual_folder, present_splits
from siam_keras.data.tfds.sun_attribute_mapping import (
    PAPER_MAPPING,
    SUN_ATTRIBUTES,
    label_agreement,
    map_labels,
    validate_mapping,
)
from siam_keras.vocabulary import PAPER_ATTRIBUTES, SPLITS


class SunAttributesConfig(tfds.core.BuilderConfig):
    """`mapping`: {attribute: [SUN attributes]} (max over them), or None for all 102;
    `authors_labels`: True to read the SIAM authors' own 33-attribute labels instead."""

    def __init__(self, *, mapping=None, authors_labels=False, **kwargs):
        super().__init__(**kwargs)
        self.mapping = None if mapping is None else validate_mapping(mapping)
        self.authors_labels = authors_labels


class SunAttributesBuilder(tfds.core.GeneratorBasedBuilder):
    """SUN Attributes: scene images with 102 crowd-sourced attribute labels."""

    name = sun.NAME
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = sun.INSTRUCTIONS
    BUILDER_CONFIGS = [SunAttributesConfig(name=name, description=description, **settings)
                       for name, (description, settings) in sun.CONFIGS.items()]

    @property
    def attribute_names(self):
        if self.builder_config.authors_labels:
            return PAPER_ATTRIBUTES
        mapping = self.builder_config.mapping
        return tuple(mapping) if mapping is not None else SUN_ATTRIBUTES

    def _info(self):
        names = self.attribute_names
        return tfds.core.DatasetInfo(
            builder=self,
            description="SUN Attributes (Patterson and Hays, IJCV 2014); labels are the share "
                        "of 3 annotators who saw each attribute. Attributes: " + ", ".join(names),
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
                "image/filename": tfds.features.Text(),
                "scene": tfds.features.Text(),
                "attributes": tfds.features.Tensor(shape=(len(names),), dtype=np.float32),
            }),
            homepage="https://cs.brown.edu/~gmpatter/sunattributes.html",
            metadata=tfds.core.MetadataDict(attribute_names=list(names)),
        )

    def _split_generators(self, dl_manager):
        folder = manual_folder(dl_manager, sun.SunAttributesFolder)
        labels = folder.labels
        if self.builder_config.authors_labels:
            labels = self._authors_labels(folder)
        elif self.builder_config.mapping is not None:
            labels = map_labels(labels, folder.attribute_names, self.builder_config.mapping)
        self.info.metadata["split_files"] = {
            split: [relative for _, relative, _ in folder.examples(split)] for split in SPLITS}
        malformed = list(folder.malformed.values())
        for line in malformed:
            print(f"skipped (malformed entry) {line}")
        self.info.metadata["malformed_rows"] = malformed[:100]
        self.info.metadata["num_malformed_rows"] = len(malformed)
        skipped = SkippedFiles()
        self.info.metadata["skipped"] = skipped.report
        splits = present_splits({split: [path for _, _, path in folder.examples(split)]
                                 for split in SPLITS})
        return {split: self._generate_examples(folder, split, labels, skipped) for split in splits}

    def _authors_labels(self, folder):
        """The authors' labels, and how our mapping of SUN's 102 agrees with them (kept in
        the metadata as `mapping_agreement`)."""
        names, labels = folder.authors_labels()
        if names != PAPER_ATTRIBUTES:
            raise ValueError(f"{sun.AUTHORS_FILES[0]} names {list(names)}; the paper's 33 "
                             f"attributes are {list(PAPER_ATTRIBUTES)}")
        ours = map_labels(folder.labels, folder.attribute_names, PAPER_MAPPING)
        agreement = label_agreement(ours, labels, names)
        self.info.metadata["mapping_agreement"] = agreement
        same = [entry["same_label"] for entry in agreement.values()]
        least = min(agreement, key=lambda name: agreement[name]["same_label"])
        print(f"our 102 -> 33 mapping gives the authors' label on {np.mean(same):.1%} of "
              f"image-attribute pairs (least: {least})")
        return labels

    def _generate_examples(self, folder, split, labels, skipped):
        for index, relative, path in folder.examples(split):
            pixels = skipped.photo(path, split)
            if pixels is None:
                continue
            parts = relative.split("/")
            yield relative, {"image": pixels, "image/filename": relative,
                             "scene": parts[-2] if len(parts) > 1 else "",
                             "attributes": labels[index]}

