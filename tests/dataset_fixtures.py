"""Small SUN Attributes and ScenicOrNot folders in their official formats, for tests.

The images are `synthetic_scenes` images, so the labels carry real signal: SUN
labels grade the coverage of the concepts that have a SUN attribute (trees ->
"trees", water -> "still water", ...), ScenicOrNot's mean vote is the synthetic
scenicness on 1-10. Some listed images are missing and some are corrupt, as in the
real downloads.
"""

import csv

import numpy as np
from PIL import Image
from scipy import io

from siam_keras.data import SyntheticScenes
from siam_keras.data.tfds.sun_attribute_mapping import SUN_ATTRIBUTES

#: synthetic_scenes concept -> the SUN attribute whose label grades its coverage.
CONCEPT_TO_SUN = {"trees": "trees", "grass": "grass", "water": "still water", "road": "asphalt",
                  "rock": "rock/stone", "clouds": "clouds", "buildings": "brick",
                  "sky": "far-away horizon"}
SCENES = ("abbey", "beach", "field", "harbor")


def _cell(strings):
    cell = np.empty((len(strings), 1), dtype=object)
    for i, text in enumerate(strings):
        cell[i, 0] = text
    return cell


def write_sun_fixture(folder, num_images=48, missing=(3, 17), corrupt=(5, 22), image_size=40,
                      seed=0):
    """Writes attributes.mat, images.mat, attributeLabels_continuous.mat and images/.

    Returns the relative image paths (all listed in images.mat, missing ones included).
    """
    scenes = SyntheticScenes(image_size=image_size, template_size=4, seed=seed)
    batch = scenes.generate("train", num_images)
    paths = [f"{s[0]}/{s}/sun_{i:04d}.jpg" for i, s in
             zip(range(num_images), np.resize(SCENES, num_images))]
    labels = np.zeros((num_images, len(SUN_ATTRIBUTES)), dtype="float64")
    rng = np.random.default_rng(seed)
    labels[:, rng.choice(len(SUN_ATTRIBUTES), 20, replace=False)] = rng.integers(
        0, 4, (num_images, 20)) / 3
    for k, concept in enumerate(scenes.attribute_names):
        labels[:, SUN_ATTRIBUTES.index(CONCEPT_TO_SUN[concept])] = batch["attributes"][:, k]
    folder.mkdir(parents=True, exist_ok=True)
    io.savemat(folder / "attributes.mat", {"attributes": _cell(SUN_ATTRIBUTES)})
    io.savemat(folder / "images.mat", {"images": _cell(paths)})
    io.savemat(folder / "attributeLabels_continuous.mat", {"labels_cv": labels})
    for i, relative in enumerate(paths):
        if i in missing:
            continue
        path = folder / "images" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if i in corrupt:
            path.write_bytes(b"\xff\xd8\xff\xe0 truncated JPEG")
        else:
            Image.fromarray(batch["image"][i]).save(path, quality=92)
    return paths


def write_son_fixture(folder, num_images=48, with_id=True, missing=(2, 11, 30), corrupt=(7,),
                      image_size=40, seed=1, base_uri="http://www.geograph.org.uk"):
    """Writes votes.tsv (with or without the ID column) and images/.

    Photos are saved by ID when there is one, else by Geograph photo number.
    Returns the rows written, as dicts.
    """
    scenes = SyntheticScenes(image_size=image_size, template_size=4, seed=seed)
    batch = scenes.generate("train", num_images)
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    rows = []
    for i in range(num_images):
        mean = float(np.clip(batch["scenicness"][i] * 1.2 - 1.0, 1.0, 10.0))
        votes = np.clip(np.round(rng.normal(mean, 1.0, 5)), 1, 10).astype(int)
        row = {"ID": str(1000 + i), "Lat": f"{50.0 + rng.uniform(0, 8):.5f}",
               "Lon": f"{-5.0 + rng.uniform(0, 6):.5f}", "Average": f"{votes.mean():.4f}",
               "Variance": f"{votes.var():.4f}", "Votes": ",".join(map(str, votes)),
               "Geograph URI": f"{base_uri}/photo/{500000 + i}"}
        rows.append(row)
        if i in missing:
            continue
        name = row["ID"] if with_id else str(500000 + i)
        path = folder / "images" / f"{name}.jpg"
        if i in corrupt:
            path.write_bytes(b"not a JPEG at all")
        else:
            Image.fromarray(batch["image"][i]).save(path, quality=92)
    columns = ["ID", "Lat", "Lon", "Average", "Variance", "Votes", "Geograph URI"]
    if not with_id:
        columns = columns[1:]
    with open(folder / "votes.tsv", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, columns, delimiter="\t", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def write_authors_labels(folder, disagree=("road",), seed=0):
    """Writes the SIAM authors' attributes2.mat and attributeLabels_continuous2.mat (their
    formats: a 33 x 1 cell of names, float64 `labels_cv` with one row per images.mat entry)
    for a `write_sun_fixture` folder: our mapping's labels, except the `disagree`
    attributes, whose labels are drawn at random. Returns the labels written."""
    from siam_keras.data.tfds.sun_attribute_mapping import map_labels
    from siam_keras.vocabulary import PAPER_ATTRIBUTES

    ours = map_labels(io.loadmat(folder / "attributeLabels_continuous.mat")["labels_cv"])
    labels = ours.astype("float64")
    rng = np.random.default_rng(seed)
    for name in disagree:
        k = PAPER_ATTRIBUTES.index(name)
        labels[:, k] = rng.choice([0, 1 / 3, 2 / 3, 1], len(labels))
    io.savemat(folder / "attributes2.mat", {"attributes": _cell(PAPER_ATTRIBUTES)})
    io.savemat(folder / "attributeLabels_continuous2.mat", {"labels_cv": labels})
    return labels
