"""`explain_files`: from photo files to explanations in Python, each file failing alone.

What `siam explain` does for one file, without writing anything: read it
(`read_photo`: any JPEG, PNG, WebP or TIFF, EXIF orientation, the `max_pixels`
guard), resize it to the model's input (`resize_for_model`), explain it in batches,
and report each file that cannot be read or explained with its reason instead of
raising. Every explainer has it as `explainer.explain_files(paths)`. NumPy and
Pillow only.
"""

import dataclasses
import os

import numpy as np

from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.explanation import DEFAULT_TOP_K, ExplanationError
from siam_keras.runtime.failing_alone import explain_each_alone_on_failure
from siam_keras.runtime.image_opening import reason_without_name
from siam_keras.runtime.images import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    read_photo,
    resize_for_model,
)
from siam_keras.runtime.output_folder import display_path

#: Photos per forward pass.
DEFAULT_BATCH_SIZE = 16


@dataclasses.dataclass(frozen=True)
class ExplainedFile:
    """One file's explanation, or why there is none.

    Attributes:
        path: the file, as given.
        explanation: the `SIAMExplanation` of the batch the file was explained in
            (None when it failed); the file is its image `index`.
        index: the file's position in `explanation`.
        photo: the decoded `Photo` (its format, mode, size in the file), or None.
        error: why the file was not explained (None when it was).
    """

    path: str
    explanation: object = None
    index: int = 0
    photo: object = None
    error: str = None

    @property
    def ok(self):
        return self.error is None

    def value(self, output):
        """The prediction of `output` (a classification output: its logits)."""
        return self._checked().output(output).value[self.index]

    def top_attributes(self, output, k=None):
        """[(attribute, contribution)] of `output`, the largest effect first."""
        return self._checked().top_attributes(output, self.index, k)

    def to_json(self):
        """The record `siam explain` writes for the file (every output, the attribute
        scores and maps, the source photo), without the model's path."""
        explanation = self._checked()
        return {"image": self.path, "source": self.photo.source_json(),
                **explanation.to_json(self.index)}

    def _checked(self):
        if self.error is not None:
            raise ValueError(f"{self.path} was not explained: {self.error}")
        return self.explanation


def explain_files(explainer, paths, top_k=DEFAULT_TOP_K, max_pixels=DEFAULT_MAX_PIXELS,
                  batch_size=DEFAULT_BATCH_SIZE):
    """Explains each photo file; one `ExplainedFile` per path, in order.

    Args:
        explainer: any SIAM explainer (`SIAMExplainer`, `SavedModelExplainer`,
            `EdgeExplainer`, `ServingClient`).
        paths: photo files (str or path-like).
        top_k: attributes ranked per output.
        max_pixels: larger photos are refused unread.
        batch_size: photos per forward pass.

    A file that is missing, a folder, unreadable, too large, or whose explanation does
    not add up gets its reason in `error`; the others are explained as usual.

    Example:
    >>> for result in explainer.explain_files(["photos/cat.jpg", "photos/broken.jpg"]):
    ...     if result.ok:
    ...         print(result.path, result.value("scenicness"), result.top_attributes(
    ...             "scenicness", k=3))
    ...     else:
    ...         print(result.path, "failed:", result.error)
    """
    paths = [paths] if isinstance(paths, (str, bytes, os.PathLike)) else list(paths)
    batch_size = positive_int("batch_size", batch_size)
    height, width = explainer.image_size
    results = []
    for start in range(0, len(paths), batch_size):
        slots, read = [], []  # slots: a failed read's result, or None for the next explained
        for path in map(os.fspath, paths[start : start + batch_size]):
            try:
                if os.path.isdir(path):
                    raise ImageError(f"{path}: is a folder, not a photo file")
                photo = read_photo(path, max_pixels, target_size=(height, width))
                read.append((path, photo, resize_for_model(photo, height, width)))
                slots.append(None)
            except (ImageError, OSError) as error:
                slots.append(ExplainedFile(path, error=_reason(path, error)))
        explained = iter(_explain(explainer, read, top_k))
        results += [slot if slot is not None else next(explained) for slot in slots]
    return results


def _explain(explainer, read, top_k):
    """ExplainedFile per (path, photo, pixels) of `read`: one batch, each alone if the
    batch's explanation does not add up."""
    if not read:
        return []
    pixels = np.stack([pixels for _, _, pixels in read])
    items = []
    for (path, photo, _), result in zip(read, explain_each_alone_on_failure(explainer, pixels,
                                                                             top_k)):
        if isinstance(result, ExplanationError):
            items.append(ExplainedFile(path, photo=photo,
                                       error=f"its explanation does not add up ({result})"))
        else:
            explanation, index = result
            items.append(ExplainedFile(path, explanation, index, photo))
    return items


def _reason(path, error):
    """The error's message without the path it starts with (the result names it)."""
    if isinstance(error, FileNotFoundError):
        return "no such file"
    return reason_without_name(str(error), path)


def explanation_record(photo, explanation, index, model, location=None):
    """The JSON record of one explained photo (what both CLIs write); `location`
    (a `Location`) adds {"latitude", "longitude", "source"} as "location"."""
    record = {"image": display_path(photo.path), "model": display_path(model),
              "source": photo.source_json()}
    if location is not None:
        record["location"] = location.to_json()
    return {**record, **explanation.to_json(index)}
