"""`scenic_or_not`: ScenicOrNot as a TensorFlow Datasets builder (manual download).

Configs: `default` (80/10/10 by photo) and `spatial` (80/10/10 by 10 km x 10 km
cells, so that neighbouring photos never straddle train and test). The split and
the rows and images left out (`skipped`) are saved in the dataset's metadata.
"""

import numpy as np
import tensorflow_datasets as tfds

from siam_keras.data.tfds import scenic_or_not as son
from siam_keras.data.tfds.common import SkippedFiles, manual_folder, present_splits
from siam_keras.vocabulary import SPLITS


class ScenicOrNotConfig(tfds.core.BuilderConfig):
    """`block_km`: 0 splits photo by photo; > 0 splits by block_km-wide map cells."""

    def __init__(self, *, block_km=0.0, **kwargs):
        super().__init__(**kwargs)
        if block_km < 0:
            raise ValueError(f"`block_km` must be >= 0. Received: {block_km}")
        self.block_km = float(block_km)


class ScenicOrNotBuilder(tfds.core.GeneratorBasedBuilder):
    """ScenicOrNot: Geograph photos of Great Britain and their scenicness votes."""

    name = son.NAME
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = son.INSTRUCTIONS
    BUILDER_CONFIGS = [
        ScenicOrNotConfig(name=name, block_km=block_km, description=(
            f"Split by {block_km:g} km map cells (no leakage between neighbours)." if block_km
            else "Split photo by photo."))
        for name, block_km in son.CONFIGS.items()]

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description="ScenicOrNot votes (ODbL) on Geograph photos (CC BY-SA 2.0): "
                        "scenicness is the mean vote (1-10), scenicness_variance its variance.",
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
                "image/filename": tfds.features.Text(),
                "id": tfds.features.Text(),
                "photo": tfds.features.Text(),
                "uri": tfds.features.Text(),
                "latitude": tfds.features.Scalar(dtype=np.float32),
                "longitude": tfds.features.Scalar(dtype=np.float32),
                "scenicness": tfds.features.Scalar(dtype=np.float32),
                "scenicness_variance": tfds.features.Scalar(dtype=np.float32),
                "votes": tfds.features.Tensor(shape=(None,), dtype=np.int32),
            }),
            homepage="https://www.geograph.org.uk/",
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager):
        folder = manual_folder(dl_manager, son.ScenicOrNotFolder)
        block = self.builder_config.block_km
        for line in folder.malformed:
            print(f"skipped (malformed row) {line}")
        self.info.metadata["split_files"] = {
            split: [r["key"] for r in folder.examples(split, block)] for split in SPLITS}
        skipped = SkippedFiles()
        self.info.metadata["skipped"] = skipped.report
        self.info.metadata["malformed_rows"] = list(folder.malformed[:100])
        self.info.metadata["num_malformed_rows"] = len(folder.malformed)
        splits = present_splits({split: [folder.image_path(r)
                                         for r in folder.examples(split, block)]
                                 for split in SPLITS})
        return {split: self._generate_examples(folder, split, block, skipped) for split in splits}

    def _generate_examples(self, folder, split, block, skipped):
        for record in folder.examples(split, block):
            path = folder.image_path(record)
            pixels = skipped.photo(path, split, name=f"{record['key']} ({record['uri']})")
            if pixels is None:
                continue
            yield record["key"], {
                "image": pixels, "image/filename": path.name, "id": record["id"] or "",
                "photo": record["photo"] or "", "uri": record["uri"],
                "latitude": record["lat"], "longitude": record["lon"],
                "scenicness": record["scenicness"],
                "scenicness_variance": record["scenicness_variance"],
                "votes": np.asarray(record["votes"], dtype=np.int32),
            }
