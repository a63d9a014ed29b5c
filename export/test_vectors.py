"""Writes an export's test vectors (`siam_keras.edge.test_vectors` describes and checks them)."""

from siam_keras.edge import test_vectors as vectors
from siam_keras.runtime.atomic import write_json


def write_test_vectors(folder, files, sidecar, images, source, count=vectors.DEFAULT_COUNT):
    """Writes `folder/test_vectors/`: the first `count` held-out images as PNG and, per
    TFLite variant in `files` ({variant: path}), what the Python edge runtime gives on
    them. `sidecar` must already list the variants (their SHA-256 identifies them).

    Returns:
        The test vector folder.
    """
    from PIL import Image

    from siam_keras.edge.explainer import EdgeExplainer

    target = folder / vectors.FOLDER
    target.mkdir(parents=True, exist_ok=True)
    images = images[:count]
    entries = []
    for n, pixels in enumerate(images):
        name = f"image_{n:02d}.png"
        Image.fromarray(pixels).save(target / name)
        entries.append({"file": name, "source": f"held-out image {n} of {source}"})
    height, width = sidecar.image_size
    data = {
        "format": vectors.FORMAT,
        "model": sidecar.name,
        "input": {"name": "image", "shape": [1, height, width, 3], "dtype": "float32",
                  "range": [0, 255], "from": "the PNG's RGB values as float32, unchanged"},
        "comparison": vectors.COMPARISON,
        "images": entries,
        "variants": {},
    }
    for variant, path in files.items():
        explainer = EdgeExplainer(path, sidecar)
        expected = [{key: value.tolist() for key, value in
                     vectors.expected_tensors(explainer, pixels).items()} for pixels in images]
        data["variants"][variant] = {"file": path.name, "sha256": sidecar.variants[variant]["sha256"],
                                     "tolerance": vectors.TOLERANCE[variant], "expected": expected}
    write_json(target / vectors.FILE, data, indent=None)
    return target
