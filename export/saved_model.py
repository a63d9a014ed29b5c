"""A SIAM model as a TensorFlow Serving SavedModel version, written atomically."""

import re
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from siam_keras import vocabulary
from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.atomic import replace_folder
from siam_keras.runtime.images import DEFAULT_MAX_PIXELS
from siam_keras.runtime.jpeg_scans import MAX_JPEG_SCANS, SOS
from siam_keras.runtime.output_paths import written_by_siam_keras
from siam_keras.runtime.sidecar import SIDECAR_NAME
from siam_keras.scoring.saved_model_explainer import SIDECAR_ASSET

PIXELS, BYTES = vocabulary.PIXELS_SIGNATURE, vocabulary.BYTES_SIGNATURE
PIXELS_INPUT, BYTES_INPUT = vocabulary.PIXELS_INPUT, vocabulary.BYTES_INPUT
PNG_MAGIC, JPEG_MAGIC = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"


def signatures(model, max_pixels=DEFAULT_MAX_PIXELS):
    """How the two signatures take their inputs and name their outputs (for the sidecar)."""
    height, width = model.input_shape[1:3]
    outputs = sorted(model.output)
    return {
        PIXELS: {"inputs": {PIXELS_INPUT: f"float32 (batch, {height}, {width}, 3): RGB pixels "
                                          "0-255, resized as the sidecar's preprocessing says; "
                                          "at least one image"},
                 "outputs": outputs},
        BYTES: {"inputs": {BYTES_INPUT: "string (batch,): encoded JPEG or PNG files of at most "
                                        f"{max_pixels} pixels each (larger ones are refused from "
                                        "their header, before decoding); REST clients send "
                                        "{\"b64\": ...}. Decoded and resized in the graph "
                                        "(tf.image bilinear, antialiased); no EXIF orientation, "
                                        "alpha dropped: send upright RGB; at least one image"},
                "outputs": outputs},
    }


def next_version(base):
    """1 + the largest integer version under `base` (1 when there is none)."""
    versions = [int(p.name) for p in Path(base).glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def checked_pixels(image, height, width):
    """`image`, after an in-graph check that it is (batch, height, width, 3).

    A signature's declared shape is not enforced when it is called (a 30 x 32
    image runs and returns numbers), and a tensor of the wrong rank aborts the
    whole process inside oneDNN's convolution: TF Serving would go down. The
    check turns both into an InvalidArgumentError naming the expected shape.
    """
    shape = tf.shape(image)
    padded = tf.concat([shape, tf.zeros([4], tf.int32)], axis=0)[:4]
    valid = tf.logical_and(tf.equal(tf.size(shape), 4),
                           tf.reduce_all(tf.equal(padded[1:], [height, width, 3])))
    check = tf.debugging.Assert(valid, [
        f"`{PIXELS_INPUT}` must be (batch, {height}, {width}, 3) float32 RGB pixels 0-255. "
        "Received shape:", shape])
    with tf.control_dependencies([check]):
        return tf.identity(image)


def check_version(base, version=None, overwrite=False):
    """The version to write under `base` (default: one more than the latest).

    Raises:
        ValueError: the version is not a positive integer.
        FileExistsError: it exists and `overwrite` is False (the message names the
            next free version), or it exists and siam-export did not write it (never
            replaced).
    """
    if version is None:
        version = next_version(base)
    version = positive_int("version", version)
    final = Path(base) / str(version)
    if (final.exists() or final.is_symlink()) and not written_by_siam_keras(
            final, SIDECAR_ASSET):
        raise FileExistsError(
            f"{final} exists and is not a SavedModel siam-export wrote (no assets/{SIDECAR_NAME}"
            f"): it is left alone. Choose --version {next_version(base)} or another --out.")
    if final.exists() and not overwrite:
        raise FileExistsError(
            f"{final} already holds SavedModel version {version}. Pass --overwrite to replace "
            f"it, or --version {next_version(base)} for a new one."
        )
    return version


def _not_empty(batch, name):
    """`batch`, after an in-graph check that it holds at least one image."""
    check = tf.debugging.Assert(tf.shape(batch)[0] > 0, [
        f"`{name}` must hold at least one image. Received an empty batch of shape", tf.shape(batch)])
    with tf.control_dependencies([check]):
        return tf.identity(batch)


def encoded_image_size(data):
    """(height, width) int64 of JPEG or PNG bytes, read from the header without decoding;
    (-1, -1) for anything else."""
    length = tf.strings.length(data)

    def starts_with(magic):
        return tf.logical_and(length >= 24,
                              tf.equal(tf.strings.substr(data, 0, len(magic)), magic))

    def png():  # IHDR: width and height, big-endian, at bytes 16-23
        fields = tf.cast(tf.io.decode_raw(tf.strings.substr(data, 16, 8), tf.uint8), tf.int64)
        big_endian = tf.constant([2**24, 2**16, 2**8, 1], tf.int64)
        return tf.stack([tf.reduce_sum(fields[4:] * big_endian),
                         tf.reduce_sum(fields[:4] * big_endian)])

    def jpeg():
        return tf.cast(tf.image.extract_jpeg_shape(data)[:2], tf.int64)

    return tf.case([(starts_with(PNG_MAGIC), png), (starts_with(JPEG_MAGIC), jpeg)],
                   default=lambda: tf.constant([-1, -1], tf.int64))


def jpeg_scans(data):
    """The scans of JPEG bytes `data` (a scalar tf.string), 0 for anything else: every
    FF DA (start of scan) in the file, as `siam_keras.runtime.jpeg_scans` counts them but
    without skipping the header segments (an EXIF thumbnail's scans count too)."""
    is_jpeg = tf.equal(tf.strings.substr(data, 0, len(JPEG_MAGIC)), JPEG_MAGIC)
    scans = tf.size(tf.strings.split(data, sep=SOS)) - 1
    return tf.where(is_jpeg, scans, 0)


def _archive(model, max_pixels=DEFAULT_MAX_PIXELS):
    height, width = model.input_shape[1:3]

    def from_pixels(image):
        return model(checked_pixels(_not_empty(image, PIXELS_INPUT), height, width), training=False)

    def from_bytes(image_bytes):
        def decode(data):
            size = encoded_image_size(data)
            checks = [
                tf.debugging.Assert(size[0] >= 0, [
                    f"`{BYTES_INPUT}` must hold JPEG or PNG files; one starts with",
                    tf.strings.substr(data, 0, tf.minimum(8, tf.strings.length(data)))]),
                tf.debugging.Assert(size[0] * size[1] <= max_pixels, [
                    f"`{BYTES_INPUT}`: an image of", size[0], "x", size[1], "pixels is larger "
                    f"than the limit of {max_pixels} pixels; refused without decoding"]),
                tf.debugging.Assert(jpeg_scans(data) <= MAX_JPEG_SCANS, [
                    f"`{BYTES_INPUT}`: a progressive JPEG of", jpeg_scans(data), "scans, more "
                    f"than the {MAX_JPEG_SCANS} any encoder writes; refused without decoding "
                    "(its decoding time grows with the scans)"]),
            ]
            with tf.control_dependencies(checks):
                image = tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8)
            image = tf.cast(image, tf.float32)
            return tf.image.resize(image, (height, width), method="bilinear", antialias=True)

        images = tf.map_fn(decode, _not_empty(image_bytes, BYTES_INPUT),
                           fn_output_signature=tf.TensorSpec((height, width, 3), tf.float32))
        return model(images, training=False)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(PIXELS, from_pixels, input_signature=[
        tf.TensorSpec((None, height, width, 3), tf.float32, name=PIXELS_INPUT)])
    archive.add_endpoint(BYTES, from_bytes, input_signature=[
        tf.TensorSpec((None,), tf.string, name=BYTES_INPUT)])
    return archive


def write_saved_model(model, base, sidecar, version=None, overwrite=False,
                      max_pixels=DEFAULT_MAX_PIXELS, log=print):
    """Writes `base/<version>/` (TF Serving's layout) and returns its path.

    The version is written to a hidden temporary folder beside it, loaded back and
    checked, then renamed into place: a crash never leaves a half-written
    `<version>/`, and TF Serving ignores the hidden folders.

    Args:
        model: a SIAM Keras model.
        base: the model's base folder (`EXPORT_DIR/saved_model`).
        sidecar: its `ModelSidecar` (saved as `<version>/assets/siam_model.json`).
        version: an integer >= 1 (default: one more than the latest).
        overwrite: replace an existing version instead of refusing.
        max_pixels: `serve_image_bytes` refuses larger images from their header.

    Raises:
        FileExistsError: the version exists and `overwrite` is False.
        ValueError: the version is not a positive integer.
    """
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    version = check_version(base, version, overwrite)
    final = base / str(version)
    for stale in base.glob(f".tmp-{version}-*"):  # mkdtemp's name: 8 random characters
        if re.fullmatch(rf"\.tmp-{version}-[a-z0-9_]{{8}}", stale.name) and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=base))
    try:
        written = staging / "model"
        _archive(model, max_pixels).write_out(str(written), verbose=False)
        sidecar.save(written / SIDECAR_ASSET)
        loaded = tf.saved_model.load(str(written))
        missing = {PIXELS, BYTES} - set(loaded.signatures)
        if missing:
            raise RuntimeError(f"The written SavedModel lacks the signatures {sorted(missing)}")
        replace_folder(written, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"SavedModel version {version}: {final}")
    return final
