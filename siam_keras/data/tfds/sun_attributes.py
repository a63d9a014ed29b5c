"""The SUN Attribute Database as it is downloaded, read with SciPy (no TensorFlow).

Patterson and Hays, "The SUN Attribute Database", IJCV 2014: 14,340 images, 102
attributes, each label the share of three annotators who saw it ({0, 1/3, 2/3, 1}).
It has no official split: `split_of` gives a deterministic 80/10/10 one from each
image's path, stable when images are added or missing.
"""

from pathlib import Path, PurePosixPath

import numpy as np

from siam_keras.data.tfds.manual_download import check_manual_folder, hashed_split
from siam_keras.data.tfds.sun_attribute_mapping import PAPER_MAPPING

#: The dataset's name (its TFDS builder's).
NAME = "sun_attributes"
MAT_FILES = ("attributes.mat", "images.mat", "attributeLabels_continuous.mat")
#: The SIAM authors' own 33-attribute labels (https://github.com/dmarcosg/SIAM): names,
#: and `labels_cv` with one row per images.mat entry, in that order.
AUTHORS_FILES = ("attributes2.mat", "attributeLabels_continuous2.mat")
IMAGES = "images"
#: The builder's configs, {name: (description, `SunAttributesConfig` settings)}: the
#: paper's 33 attributes through our mapping, the SIAM authors' own 33 labels, or all 102
#: (`mapping` None). Training's `sun_config` takes one of these names.
CONFIGS = {
    "paper33": ("The SIAM paper's 33 attributes (explicit mapping).",
                {"mapping": PAPER_MAPPING}),
    "authors33": (f"The SIAM authors' own 33-attribute labels ({', '.join(AUTHORS_FILES)}), "
                  "exactly.", {"authors_labels": True}),
    "all102": ("All 102 SUN attributes.", {"mapping": None}),
}
INSTRUCTIONS = f"""\
SUN Attributes cannot be downloaded automatically. From
https://cs.brown.edu/~gmpatter/sunattributes.html download SUNAttributeDB.tar.gz
and SUNAttributeDB_Images.tar.gz, and extract both into the manual folder, so that
it holds (the first three may also sit in a SUNAttributeDB/ subfolder):

  {MAT_FILES[0]}
  {MAT_FILES[1]}
  {MAT_FILES[2]}
  {IMAGES}/<the paths listed in images.mat, e.g. a/abbey/sun_aaalbzqrimafwbiv.jpg>
"""


def split_of(relative_path):
    """"train", "validation" or "test" for an image path (80/10/10, deterministic)."""
    return hashed_split(relative_path)


def _strings(cell, file):
    """A MATLAB cell array of strings (as scipy.io.loadmat returns it) -> list of str."""
    try:
        return [str(np.asarray(item).ravel()[0]) for item in np.asarray(cell, dtype=object).ravel()]
    except (IndexError, TypeError, ValueError) as error:
        raise ValueError(f"{file} does not hold a cell array of strings: {error}") from None


def _load(file, variable):
    from scipy import io
    from scipy.io.matlab import MatReadError

    try:
        contents = io.loadmat(str(file))
    except (MatReadError, OSError, ValueError, TypeError, NotImplementedError) as error:
        raise ValueError(f"{file} is not a readable MATLAB file: {error}") from None
    if variable not in contents:
        found = sorted(k for k in contents if not k.startswith("__"))
        raise ValueError(f"{file} has no variable {variable!r} (it has {found})")
    return contents[variable]


class SunAttributesFolder:
    """The manual folder of SUN Attributes: names, image paths and labels.

    Args:
        folder: where `INSTRUCTIONS` put the files.

    Attributes:
        malformed: {images.mat index: "file:entry: why"} of the entries left out.

    Raises:
        FileNotFoundError: the folder is missing or empty, or lacks one of the
            expected files (the message names the folder and every file expected).
        ValueError: a file is there but unreadable or inconsistent.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        base = self.folder
        nested = base / "SUNAttributeDB" / MAT_FILES[0]
        if not (base / MAT_FILES[0]).is_file() and nested.is_file():
            base = base / "SUNAttributeDB"
        check_manual_folder(self.folder, "SUN Attributes", INSTRUCTIONS, [
            *((name, base / name) for name in MAT_FILES), (f"{IMAGES}/", self.folder / IMAGES)])
        self.images_folder = self.folder / IMAGES
        self.attribute_names = tuple(_strings(_load(base / MAT_FILES[0], "attributes"),
                                              MAT_FILES[0]))
        self.image_paths = tuple(_strings(_load(base / MAT_FILES[1], "images"), MAT_FILES[1]))
        labels = np.asarray(_load(base / MAT_FILES[2], "labels_cv"), dtype="float32")
        expected = (len(self.image_paths), len(self.attribute_names))
        if labels.shape != expected:
            raise ValueError(f"{base / MAT_FILES[2]}: labels_cv is {labels.shape}, but images.mat "
                             f"and attributes.mat make it {expected}")
        self.labels = labels
        self.malformed = self._malformed(base / MAT_FILES[1], base / MAT_FILES[2])

    def _malformed(self, images_file, labels_file):
        """{index: "file:entry: why"} of the images.mat entries that are left out: a path
        that leaves images/ (absolute, or with ..), one listed twice, or labels that are
        not shares of votes in [0, 1]."""
        malformed, seen = {}, {}
        for index, relative in enumerate(self.image_paths):
            parts = PurePosixPath(relative.replace("\\", "/")).parts
            if not relative or relative.startswith(("/", "\\")) or ".." in parts or (
                    len(relative) > 1 and relative[1] == ":"):
                malformed[index] = (f"{images_file}:{index + 1}: {relative[:200]!r} is not a path "
                                    f"inside {IMAGES}/ (absolute, or climbing out with ..)")
            elif relative in seen:
                malformed[index] = (f"{images_file}:{index + 1}: {relative[:200]!r} is also entry "
                                    f"{seen[relative] + 1}")
            elif not (np.isfinite(self.labels[index]).all()
                      and ((self.labels[index] >= 0) & (self.labels[index] <= 1)).all()):
                malformed[index] = f"{labels_file}:{index + 1}: labels outside [0, 1] (or NaN)"
            seen.setdefault(relative, index)
        return malformed

    def authors_labels(self):
        """(names, labels): the SIAM authors' 33 attributes and their (N, 33) labels, rows
        in images.mat's order, from `AUTHORS_FILES` in the manual folder.

        Raises:
            FileNotFoundError: a file is missing (the message says where to get them).
            ValueError: they do not match images.mat, or hold values outside [0, 1].
        """
        files = [next((base / name for base in (self.folder, self.folder / "SUNAttributeDB")
                       if (base / name).is_file()), self.folder / name) for name in AUTHORS_FILES]
        missing = [str(path) for path in files if not path.is_file()]
        if missing:
            raise FileNotFoundError(
                f"The SIAM authors' labels are missing: {', '.join(missing)}. Copy "
                f"{' and '.join(AUTHORS_FILES)} from the authors' repository "
                "(https://github.com/dmarcosg/SIAM) into the SUN Attributes manual folder.")
        names = tuple(_strings(_load(files[0], "attributes"), AUTHORS_FILES[0]))
        labels = np.asarray(_load(files[1], "labels_cv"), dtype="float32")
        if labels.shape != (len(self.image_paths), len(names)):
            raise ValueError(f"{files[1]}: labels_cv is {labels.shape}; images.mat and "
                             f"{AUTHORS_FILES[0]} make it {(len(self.image_paths), len(names))}")
        if not (np.isfinite(labels).all() and (labels >= 0).all() and (labels <= 1).all()):
            raise ValueError(f"{files[1]}: labels_cv holds values outside [0, 1] (or NaN)")
        return names, labels

    def examples(self, split):
        """(index, relative path, absolute path) of the split's images, present or not
        (the entries of `malformed` left out)."""
        for index, relative in enumerate(self.image_paths):
            if index not in self.malformed and split_of(relative) == split:
                yield index, relative, self.images_folder / relative
