"""`read_manifest_splits`: a manifest's rows and photos in memory, per split and per file.

What training (`training.sources.manifest`) and `siam evaluate --config` share: the
manifest table of a config (`[data.manifest]`) read and checked, the classes of each
classification output fixed (from the training split, or given by a trained model),
the photos of the splits asked for decoded at the model's input size, and every row
left out reported as a `RowProblem` (file and line, and why). NumPy and Pillow only.
"""

import dataclasses

import numpy as np

from siam_keras.data.manifest.images import load_images
from siam_keras.data.manifest.reading import fix_classes, read_manifests
from siam_keras.data.manifest.rows import SPLITS
from siam_keras.data.run_config import MANIFEST_DEFAULTS

#: Problems printed one by one; the rest are counted (all are in metrics.json).
SHOWN_PROBLEMS = 20
#: Label key of the attribute labels in `ManifestPart.labels`.
ATTRIBUTES = "attributes"


@dataclasses.dataclass(frozen=True)
class ManifestPart:
    """One manifest file's usable rows of one split, with their photos.

    Attributes:
        source: the manifest file.
        rows: the `ManifestRow`s.
        images: (N, S, S, 3) uint8 photos at the model's input size.
        labels: `attributes` (N, K) float32 (NaN: missing), and per output (N,) float32
            (NaN: missing) or, for a classification output, int32 class indices (-1).
    """

    source: str
    rows: list
    images: np.ndarray
    labels: dict

    def __len__(self):
        return len(self.rows)

    def has_labels(self, key):
        """Whether any row has a label for `key` (`attributes` or an output)."""
        values = self.labels[key]
        known = values >= 0 if values.dtype.kind == "i" else ~np.isnan(values)
        return bool(known.any())

    @property
    def locations(self):
        """[(latitude, longitude) or None] per row."""
        return [row.location for row in self.rows]


@dataclasses.dataclass(frozen=True)
class ManifestSplits:
    """What `read_manifest_splits` returns.

    Attributes:
        parts: {split: [ManifestPart per file with rows in that split]}.
        attribute_names: the attribute columns.
        output_names: the output columns.
        output_kinds: {output: OutputKind} of every output, with its labels.
        problems: every `RowProblem` (rows left out), in file and line order.
    """

    parts: dict
    attribute_names: tuple
    output_names: tuple
    output_kinds: dict
    problems: list

    def joined(self, split):
        """(images, labels) of every file's rows of `split`, concatenated."""
        parts = self.parts.get(split, [])
        if not parts:
            raise ValueError(f"The manifest has no usable {split} rows")
        images = np.concatenate([part.images for part in parts])
        labels = {key: np.concatenate([part.labels[key] for part in parts])
                  for key in parts[0].labels}
        return images, labels

    def counts(self):
        """{split: number of usable rows}."""
        return {split: sum(map(len, parts)) for split, parts in self.parts.items()}

    def problem_report(self, limit=1000):
        """metrics.json's account of the rows left out: the count and (at most `limit`) each."""
        return {"num_skipped_rows": len(self.problems),
                "skipped_rows": [str(problem) for problem in self.problems[:limit]]}


def read_manifest_splits(table, image_size, splits=SPLITS, output_classes=None, workers=4,
                         log=print):
    """Reads a config's `[data.manifest]` table into memory.

    Args:
        table: a dict (or object) with `files`, `attribute_columns` and `outputs`
            ({column: kind}), and optionally (`MANIFEST_DEFAULTS`) `image_column`,
            `split_column`, `latitude_column`, `longitude_column` ("" or None: none)
            and `max_pixels`.
        image_size: the model's input side.
        splits: the splits whose photos are decoded (the others are only counted).
        output_classes: {output: labels} of a trained model's labelled outputs (classes,
            tags): a row with a label not among them is left out. None: the labels are
            those of the training split.
        workers: threads decoding photos.
        log: progress printer.

    Returns:
        `ManifestSplits`.

    Raises:
        FileNotFoundError, ManifestError: see `read_manifests` and `fix_classes`.
    """
    def get(key):
        value = table.get(key) if isinstance(table, dict) else getattr(table, key, None)
        return MANIFEST_DEFAULTS.get(key) if value is None else value

    outputs = dict(get("outputs"))
    rows, problems = read_manifests(
        list(get("files")), get("image_column"), list(get("attribute_columns")), outputs,
        get("split_column") or None, get("latitude_column") or None,
        get("longitude_column") or None)
    kinds, rows, unknown = fix_classes(rows, outputs, output_classes)
    problems += unknown
    wanted = [row for row in rows if row.split in splits]
    log(f"      {len(get('files'))} manifest file(s): reading the photos of {len(wanted)} rows"
        + ("" if len(splits) == len(SPLITS) else f" ({', '.join(splits)})"))
    progress = _Progress(len(wanted), log)
    pixels, loaded, unreadable = load_images(wanted, image_size, get("max_pixels"),
                                             workers=workers, progress=progress)
    problems += unreadable
    problems.sort(key=lambda p: (p.source, p.line))
    counts = {split: n for split, n in _split_counts(loaded).items() if split in splits}
    log(f"      {len(loaded)} usable rows: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    _log_problems(problems, log)
    attribute_names = tuple(get("attribute_columns"))
    parts = {}
    index = {id(row): i for i, row in enumerate(loaded)}
    for split in splits:
        for source in dict.fromkeys(row.source for row in loaded):
            chosen = [row for row in loaded if row.split == split and row.source == source]
            if chosen:
                images = pixels[[index[id(row)] for row in chosen]]
                parts.setdefault(split, []).append(ManifestPart(
                    source, chosen, images, _labels(chosen, attribute_names, kinds)))
    return ManifestSplits(parts, attribute_names, tuple(outputs), kinds, problems)


def _labels(rows, attribute_names, kinds):
    labels = {ATTRIBUTES: np.stack([row.attributes for row in rows]).astype("float32")
              .reshape(len(rows), len(attribute_names))}
    for name, kind in kinds.items():
        labels[name] = kind.encode([row.outputs.get(name) for row in rows])
    return labels


def _split_counts(rows):
    counts = {split: 0 for split in SPLITS}
    for row in rows:
        counts[row.split] += 1
    return counts


def _log_problems(problems, log):
    if not problems:
        return
    log(f"      {len(problems)} rows left out:")
    for problem in problems[:SHOWN_PROBLEMS]:
        log(f"        {problem}")
    if len(problems) > SHOWN_PROBLEMS:
        log(f"        ... and {len(problems) - SHOWN_PROBLEMS} more (all in metrics.json)")


class _Progress:
    """Logs the photos read at every tenth of the way."""

    def __init__(self, total, log):
        self.total, self.log, self.next = total, log, 0.1

    def __call__(self, done, total):
        if done / max(total, 1) >= self.next or done == total:
            self.log(f"      photos read: {done}/{total}")
            while self.next <= done / max(total, 1):
                self.next += 0.1
