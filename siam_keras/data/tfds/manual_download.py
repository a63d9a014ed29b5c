"""What the manually downloaded datasets share: checking their folder, splitting them.

Neither SUN Attributes nor ScenicOrNot can be fetched automatically, and neither has
an official split; both readers check their folder and split their examples here.
"""

import hashlib
from pathlib import Path

#: Shares of the split, by the last decimal digit of a stable hash of the key.
SPLIT_DIGITS = {"train": range(0, 8), "validation": range(8, 9), "test": range(9, 10)}


def hashed_split(key):
    """"train", "validation" or "test" for a key (80/10/10), deterministic and stable
    when other keys are added or missing."""
    digit = int(hashlib.sha1(str(key).encode("utf-8")).hexdigest(), 16) % 10
    return next(split for split, digits in SPLIT_DIGITS.items() if digit in digits)


def check_manual_folder(folder, dataset, instructions, required=()):
    """Raises FileNotFoundError naming the folder and what it should hold.

    Args:
        folder: the manual folder.
        dataset: its name in messages, e.g. "SUN Attributes".
        instructions: what to download and where to put it.
        required: (name, path) pairs that must exist; a name ending in "/" is a
            folder, any other a file.
    """
    folder = Path(folder)
    if not folder.is_dir() or not any(folder.iterdir()):
        state = "does not exist" if not folder.exists() else "is empty"
        raise FileNotFoundError(f"The {dataset} folder {folder} {state}.\n" + instructions)
    missing = [name for name, path in required
               if not (Path(path).is_dir() if name.endswith("/") else Path(path).is_file())]
    if missing:
        raise FileNotFoundError(
            f"The {dataset} folder {folder} lacks {', '.join(missing)}.\n" + instructions)
