"""Test vectors: what any runtime of an exported SIAM model checks itself against.

`siam-export` writes `tflite/test_vectors/` beside the models: a few held-out images
already at the model's input size (PNG, so the pixels are exact) and
`test_vectors.json`, with, per TFLite variant, the tensors the Python edge runtime
computed for each image (batch 1, as the signature returns them) and the variant's
tolerance. A runtime (the web page, Kotlin, Swift, C++) feeds each PNG's pixels to
its model and compares; `docs/sidecar.md` describes the file. Checking needs NumPy,
Pillow and ai-edge-litert only.
"""

from pathlib import Path

import numpy as np

from siam_keras import vocabulary
from siam_keras.runtime.decomposition import decompose
from siam_keras.runtime.image_opening import opened_image
from siam_keras.runtime.images import DEFAULT_MAX_PIXELS
from siam_keras.runtime.json_schema import load_schema, strict_json, validate

FOLDER, FILE = "test_vectors", "test_vectors.json"
FORMAT = "siam-keras-test-vectors/1"
#: How many held-out images the export writes.
DEFAULT_COUNT = 5
#: The largest accepted |got - expected| / max(1, max |expected|) per tensor and image,
#: per variant: what two runtimes of the same .tflite file may differ by. Float kernels
#: differ in summation order only; dynamic-range and int8 kernels may round a quantised
#: activation one step the other way (docs/sidecar.md, "Test vectors").
TOLERANCE = {"float32": 1e-4, "float16": 1e-4, "dynamic": 1e-3, "int8": 1e-2}
COMPARISON = ("every value v of a tensor, per image: |v - expected| <= tolerance * "
              "max(1, max |expected| over that tensor)")


def spatial_key(output):
    """The key of an output's spatial contributions, e.g. `spatial_contributions/scenicness`."""
    return f"{vocabulary.SPATIAL_CONTRIBUTIONS}/{output}"


def expected_tensors(explainer, pixels):
    """{key: batch-1 array} of one image: the signature's outputs and, per output, the
    spatial contributions of the decomposition ((1, H, W), or (1, H, W, C) classes)."""
    outputs = explainer.predict(pixels[None])
    tensors = {key: np.asarray(value, dtype="float32") for key, value in outputs.items()}
    for name, head in explainer.head.outputs.items():
        tensors[spatial_key(name)] = decompose(head, tensors[vocabulary.ATTRIBUTE_MAPS]).spatial
    return tensors


def relative_error(got, expected):
    """The largest |got - expected| over a tensor, relative to max(1, max |expected|)."""
    expected = np.asarray(expected, dtype="float64")
    got = np.asarray(got, dtype="float64")
    if got.shape != expected.shape:
        return float("inf")
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    error = float(np.abs(got - expected).max(initial=0.0)) / scale
    return error if np.isfinite(error) else float("inf")  # NaN never passes


def read_pixels(path):
    """A test vector's image: (H, W, 3) uint8, exactly as stored (no EXIF turn)."""
    with opened_image(path, str(path), DEFAULT_MAX_PIXELS) as image:  # errors: ImageError
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


def load(folder):
    """test_vectors.json of a folder; raises FileNotFoundError or ValueError naming it."""
    path = Path(folder) / FILE
    if not path.is_file():
        raise FileNotFoundError(f"Test vectors not found: {path} (siam-export writes them in "
                                f"tflite/{FOLDER}/)")
    try:
        data = strict_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a siam-keras test vector file (expected format {FORMAT!r})")
    validate(data, load_schema("test_vectors"), str(path))
    try:
        images = [entry["file"] for entry in data["images"]]
        for variant, entry in data["variants"].items():
            if len(entry["expected"]) != len(images) or not images:
                raise ValueError(f"{variant} has {len(entry['expected'])} expected entries for "
                                 f"{len(images)} images")
            for field in ("file", "tolerance"):
                if field not in entry:
                    raise KeyError(f"variants.{variant}.{field}")
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is incomplete: {error!r} missing or malformed "
                         "(siam_keras/runtime/schemas/test_vectors.schema.json)") from None
    except ValueError as error:
        raise ValueError(f"{path} is incomplete: {error} "
                         "(siam_keras/runtime/schemas/test_vectors.schema.json)") from None
    return data


def required_keys(head):
    """The tensors every image's expectations must hold: each signature output and
    each output's spatial contributions."""
    names = head.output_names
    return {vocabulary.ATTRIBUTE_MAPS, vocabulary.ATTRIBUTE_SCORES, *names,
            *map(vocabulary.contributions_key, names), *map(spatial_key, names)}


def check(folder, model_folder=None, variants=None, num_threads=2):
    """Runs each variant's model on the test vectors with the Python edge runtime.

    Args:
        folder: the test vector folder (`tflite/test_vectors`).
        model_folder: where the .tflite files and siam_model.json are (default: the
            folder above `folder`).
        variants: the variants to check (default: every variant in the file).

    Returns:
        {variant: {"tolerance": t, "worst": largest relative error, "passed": bool,
        "errors": {key: largest relative error over the images}}}.
    """
    from siam_keras.edge.explainer import EdgeExplainer

    folder = Path(folder)
    model_folder = Path(model_folder) if model_folder else folder.parent
    data = load(folder)
    images = [read_pixels(folder / entry["file"]) for entry in data["images"]]
    report = {}
    for variant in variants or data["variants"]:
        if variant not in data["variants"]:
            raise ValueError(f"{folder / FILE} has no expected values for {variant!r}. It has: "
                             f"{', '.join(data['variants'])}")
        entry = data["variants"][variant]
        explainer = EdgeExplainer(model_folder / entry["file"], num_threads=num_threads)
        if explainer.variant != variant:
            raise ValueError(f"{model_folder / entry['file']} is the {explainer.variant} model, "
                             f"not {variant}: the test vectors of {variant} need its own file")
        errors = {}
        for pixels, expected in zip(images, entry["expected"], strict=True):
            missing = required_keys(explainer.head) - set(expected)
            if missing:
                raise ValueError(f"{folder / FILE}: {variant} lacks the expected "
                                 f"{', '.join(sorted(missing))}")
            got = expected_tensors(explainer, pixels)
            for key, values in expected.items():
                errors[key] = max(errors.get(key, 0.0), relative_error(got.get(key), values))
        worst = max(errors.values(), default=0.0)
        report[variant] = {"tolerance": entry["tolerance"], "worst": worst,
                           "passed": worst <= entry["tolerance"], "errors": errors}
    return report
