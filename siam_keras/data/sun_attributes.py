"""The SUN Attribute Database as it is downloaded, read with SciPy (no TensorFlow).

Patterson and Hays, "The SUN Attribute Database", IJCV 2014: 14,340 images, 102
attributes, each label the share of three annotators who saw it ({0, 1/3, 2/3, 1}).
It has no official split: `split_of` gives a deterministic 80/10/10 one from each
image's path, stable when images are added or missing.
"""

from pathlib import Path

import numpy as np

from siam_keras.data.manual_download import check_manual_folder, hashed_split

MAT_FILES = ("attributes.mat", "images.mat", "attributeLabels_continuous.mat")
IMAGES = "images"
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

    Raises:
        FileNotFoundError: the folder is missing or empty, or lacks one of the
            expected files (the message names the folder and every file expected).
        ValueError: a file is there but unreadable or inconsistent.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        base = self.folder
        if not (base / MAT_FILES[0]).is_file() and (base / "SUNAttributeDB" / MAT_FILES[0]).is_file():
            base = base / "SUNAttributeDB"
        check_manual_folder(self.folder, "SUN Attributes", INSTRUCTIONS, [
            *((name, base / name) for name in MAT_FILES), (f"{IMAGES}/", self.folder / IMAGES)])
        self.images_folder = self.folder / IMAGES
        self.attribute_names = tuple(_strings(_load(base / MAT_FILES[0], "attributes"), MAT_FILES[0]))
        self.image_paths = tuple(_strings(_load(base / MAT_FILES[1], "images"), MAT_FILES[1]))
        labels = np.asarray(_load(base / MAT_FILES[2], "labels_cv"), dtype="float32")
        expected = (len(self.image_paths), len(self.attribute_names))
        if labels.shape != expected:
            raise ValueError(f"{base / MAT_FILES[2]}: labels_cv is {labels.shape}, but images.mat "
                             f"and attributes.mat make it {expected}")
        self.labels = labels

    def examples(self, split):
        """(index, relative path, absolute path) of the split's images, present or not."""
        for index, relative in enumerate(self.image_paths):
            if split_of(relative) == split:
                yield index, relative, self.images_folder / relative
