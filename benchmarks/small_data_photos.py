"""`write_small_data_photos`: a new user's first manifest, for `benchmarks.small_data` and
the small-data tests.

JPEG photos of `synthetic_scenes` with a split column and the smallest useful set of
columns: 4 attribute columns (`water`, `trees`, `road`, `buildings`, graded like votes),
a regression output `score` and a 3-class output `kind` (coast, forest, town). Both
outputs follow SIAM's form over those 4 attributes only (the generator's true templates
and weights, the other concepts left out), so a SIAM model can fit them exactly and a
model that learned nothing shows it.
"""

import csv
from pathlib import Path

import numpy as np

from siam_keras import vocabulary
from siam_keras.data.synthetic_scenes import (
    LANDSCAPE,
    LANDSCAPE_BIASES,
    LANDSCAPE_CLASSES,
    TRUE_BIASES,
    SyntheticScenes,
)

MANIFEST = "photos.csv"
ATTRIBUTES = ("water", "trees", "road", "buildings")
KINDS = ("coast", "forest", "town")
OUTPUTS = {"score": "regression", "kind": "classification"}
JPEG_QUALITY = 90


def minimal_config(image_size=64):
    """The README's minimal config for this manifest (TOML text): the three `[data...]`
    tables and nothing else."""
    columns = ", ".join(f'"{name}"' for name in ATTRIBUTES)
    outputs = "\n".join(f'{name} = "{kind}"' for name, kind in OUTPUTS.items())
    return (f'[data]\ndataset = "manifest"\nimage_size = {image_size}\n\n'
            f'[data.manifest]\nfiles = ["{MANIFEST}"]\nattribute_columns = [{columns}]\n'
            f'split_column = "split"\n\n[data.manifest.outputs]\n{outputs}\n')


def _labels(batch, scenes, seed, split_index, start):
    concepts = list(scenes.attribute_names)
    kept = [concepts.index(name) for name in ATTRIBUTES]
    score_parts = batch[vocabulary.contributions_key(vocabulary.SCENICNESS)][:, kept]
    noise = np.array([np.random.default_rng([seed, split_index, start + i, 2]).normal()
                      for i in range(len(score_parts))])
    score = TRUE_BIASES[vocabulary.SCENICNESS] + score_parts.sum(axis=1) + 0.1 * noise
    classes = [LANDSCAPE_CLASSES.index(name) for name in KINDS]
    logits = batch[vocabulary.contributions_key(LANDSCAPE)][:, kept][..., classes].sum(axis=1)
    logits += np.array([LANDSCAPE_BIASES[name] for name in KINDS])
    gumbel = np.stack([np.random.default_rng([seed, split_index, start + i, 3]).gumbel(
        size=len(KINDS)) for i in range(len(logits))])
    kind = np.argmax(logits + 0.1 * gumbel, axis=1)
    return batch["attributes"][:, kept], score, kind


def write_small_data_photos(out_dir, num_train, num_validation=100, num_test=200,
                            image_size=64, seed=0):
    """Writes `out_dir/photos/*.jpg` and `out_dir/photos.csv` (columns `image`, the 4
    attributes, `score`, `kind`, `split`); returns the manifest's path.

    The validation and test photos are the same for every `num_train` and seed (each
    split is its own stream of the generator), so runs of several sizes compare on
    one held-out set.
    """
    from PIL import Image

    out = Path(out_dir)
    (out / "photos").mkdir(parents=True, exist_ok=True)
    scenes = SyntheticScenes(image_size=image_size, seed=seed,
                             outputs=(vocabulary.SCENICNESS, LANDSCAPE))
    rows = []
    for split_index, (split, count) in enumerate(
            (("train", num_train), ("validation", num_validation), ("test", num_test))):
        for start in range(0, count, 200):
            batch = scenes.generate(split, min(200, count - start), start=start)
            attributes, score, kind = _labels(batch, scenes, seed, split_index, start)
            for i, pixels in enumerate(batch["image"]):
                name = f"photos/{split}_{start + i:05d}.jpg"
                Image.fromarray(pixels).save(out / name, quality=JPEG_QUALITY)
                rows.append([name, *(f"{v:.4g}" for v in attributes[i]), f"{score[i]:.4f}",
                             KINDS[kind[i]], split])
    with open(out / MANIFEST, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["image", *ATTRIBUTES, *OUTPUTS, "split"])
        writer.writerows(rows)
    return out / MANIFEST
