import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from export import saved_model
from export.run import model_sidecar

# Run in a fresh interpreter where `import siam_keras` fails, as in TF Serving.
PLAIN_TENSORFLOW = r"""
import sys
sys.modules["siam_keras"] = None  # also defeats the editable install's import hook
sys.path = [p for p in sys.path if p not in ("", ".", sys.argv[5])]
import numpy as np, tensorflow as tf
try:
    import siam_keras
    raise SystemExit("siam_keras must not be importable here")
except ImportError:
    pass
folder, pixels_file, png_file, out_file = sys.argv[1:5]
loaded = tf.saved_model.load(folder)
pixels = np.load(pixels_file)
from_pixels = loaded.signatures["serving_default"](image=tf.constant(pixels))
from_bytes = loaded.signatures["serve_image_bytes"](image_bytes=tf.constant([open(png_file, "rb").read()]))
np.savez(out_file, **{f"pixels/{k}": v.numpy() for k, v in from_pixels.items()},
         **{f"bytes/{k}": v.numpy() for k, v in from_bytes.items()})
import os
print(open(os.path.join(folder, "assets", "siam_model.json")).read()[:40])
# Wrong shapes must fail with a message, never run (30 x 32) or abort the process (rank 3).
for bad in (tf.zeros((1, 30, 32, 3)), tf.zeros((1, 32, 32)), tf.zeros((32, 32, 3, 1, 1))):
    try:
        loaded.signatures["serving_default"](image=bad)
        print("ACCEPTED", bad.shape)
    except tf.errors.InvalidArgumentError as error:
        print("REFUSED", bad.shape, "must be (batch, 32, 32, 3)" in str(error))
"""


@pytest.mark.slow
def test_signatures_run_without_siam_keras_and_match_keras(tiny_export, tiny_siam, tiny_scenes,
                                                           tmp_path):
    pixels = tiny_scenes["image"][:3].astype("float32")
    np.save(tmp_path / "pixels.npy", pixels)
    Image.fromarray(tiny_scenes["image"][0]).save(tmp_path / "image.png")
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_TENSORFLOW, str(tiny_export / "saved_model" / "1"),
         str(tmp_path / "pixels.npy"), str(tmp_path / "image.png"), str(tmp_path / "out.npz"),
         str(Path(__file__).resolve().parents[2])],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"format": "siam-keras-model/1"' in result.stdout.replace("\n", "")
    refusals = [line for line in result.stdout.splitlines() if line.startswith(("REFUSED", "ACCEPTED"))]
    assert len(refusals) == 3 and all(r.startswith("REFUSED") and r.endswith("True") for r in refusals)
    got = np.load(tmp_path / "out.npz")
    expected = tiny_siam.predict(pixels, verbose=0)
    assert {k.split("/", 1)[1] for k in got.files} == set(expected)
    for key, value in expected.items():
        assert got[f"pixels/{key}"].dtype == np.float32
        np.testing.assert_allclose(got[f"pixels/{key}"], value, atol=1e-5, rtol=1e-5)
        # A PNG at the model's size decodes to the very same pixels.
        np.testing.assert_allclose(got[f"bytes/{key}"], value[:1], atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_saved_model_cli_lists_both_signatures_with_named_float_outputs(tiny_export):
    cli = subprocess.run([sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show",
                          "--all", "--dir", str(tiny_export / "saved_model" / "1")],
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr[-2000:]
    text = cli.stdout
    for signature, name, dtype in (("serving_default", "image", "DT_FLOAT"),
                                   ("serve_image_bytes", "image_bytes", "DT_STRING")):
        block = text.split(f"signature_def['{signature}']:")[1].split("signature_def[")[0]
        assert f"inputs['{name}']" in block and dtype in block.split("output(s)")[0]
        outputs = block.split("output(s):")[1]
        for output in ("attribute_maps", "attribute_scores", "scenicness",
                       "scenicness_contributions", "scenicness_variance_contributions"):
            assert f"outputs['{output}']" in outputs
        assert outputs.count("DT_FLOAT") == 6 and "DT_HALF" not in outputs


@pytest.mark.slow
def test_wrong_inputs_to_the_signatures_are_refused_clearly(tiny_export):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(tiny_export / "saved_model" / "1"))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must be \(batch, 32, 32, 3\)"):
        loaded.signatures["serving_default"](image=tf.zeros((1, 30, 32, 3)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a float tensor"):
        loaded.signatures["serving_default"](image=tf.zeros((1, 32, 32, 3), tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must hold JPEG or PNG files"):
        loaded.signatures["serve_image_bytes"](image_bytes=tf.constant([b"not an image"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least one image"):
        loaded.signatures["serve_image_bytes"](image_bytes=tf.constant([], tf.string))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least one image"):
        loaded.signatures["serving_default"](image=tf.zeros((0, 32, 32, 3)))


def _jpeg_announcing(height, width):
    """A real 16 x 16 JPEG whose header (SOF0) is patched to announce height x width."""
    import io
    import struct

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 140, 60)).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.slow
def test_huge_images_are_refused_from_their_header_before_decoding(tiny_export, tmp_path):
    """A 249 KB PNG of 16000 x 16000 pixels took the server from 0.7 to 4.6 GB when it was
    decoded; refused from its header, it costs nothing. The limit is the sidecar's."""
    import resource
    import time

    import tensorflow as tf

    from tests.image_cases import huge_png_header

    loaded = tf.saved_model.load(str(tiny_export / "saved_model" / "1"))
    huge_png_header(tmp_path / "huge.png", side=16000)
    small = io_png(np.zeros((8, 8, 3), np.uint8))
    for data, size in (((tmp_path / "huge.png").read_bytes(), "16000 x 16000"),
                       (_jpeg_announcing(8000, 8000), "8000 x 8000")):
        start, memory = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with pytest.raises(tf.errors.InvalidArgumentError) as error:
            loaded.signatures["serve_image_bytes"](image_bytes=tf.constant([small, data]))
        message = str(error.value)
        assert "larger than the limit of 50000000 pixels" in message
        assert size.replace(" x ", "] [x] [") in message or size.split(" x ")[0] in message
        assert time.perf_counter() - start < 5
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory) / 1024
        assert grown_mb < 200, grown_mb  # decoding 16000 x 16000 x 3 would take 768 MB
    # A small image alone still decodes and runs.
    out = loaded.signatures["serve_image_bytes"](image_bytes=tf.constant([small]))
    assert out["scenicness"].shape == (1,)


def test_a_jpeg_of_thousands_of_scans_is_refused_before_decoding(tiny_export):
    """A 170 KB progressive JPEG of 1,000 scans took 14.8 s in this signature (0.41 s for a
    normal photo): its decoding time grows with the scans, so they are counted first."""
    import io
    import time

    import tensorflow as tf

    buffer = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(buffer, "JPEG", progressive=True)
    data = buffer.getvalue()
    last, end = data.rindex(b"\xff\xda"), data.rindex(b"\xff\xd9")
    many = data[:end] + data[last:end] * 1000 + data[end:]
    loaded = tf.saved_model.load(str(tiny_export / "saved_model" / "1"))
    start = time.perf_counter()
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"progressive JPEG of"):
        loaded.signatures["serve_image_bytes"](image_bytes=tf.constant([many]))
    assert time.perf_counter() - start < 5
    out = loaded.signatures["serve_image_bytes"](image_bytes=tf.constant([data]))  # 10 scans
    assert out["scenicness"].shape == (1,)


def io_png(pixels):
    import io

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_crash_leaves_no_half_written_version(tiny_siam, tmp_path, monkeypatch):
    import keras

    def crash(self, folder, **kwargs):
        (tmp_path / "started").write_text("")
        import os
        os.makedirs(folder)
        open(os.path.join(folder, "saved_model.pb"), "wb").write(b"partial")
        raise KeyboardInterrupt("killed while writing")

    # ExportArchive() returns a backend subclass: patch the class really used.
    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", crash)
    base = tmp_path / "saved_model"
    with pytest.raises(KeyboardInterrupt):
        saved_model.write_saved_model(tiny_siam, base, model_sidecar(tiny_siam), 1,
                                      log=lambda *a: None)
    assert (tmp_path / "started").exists()
    assert list(base.iterdir()) == []


def test_version_must_be_a_positive_integer(tiny_siam, tmp_path):
    with pytest.raises(ValueError, match="`version` must be a positive integer"):
        saved_model.write_saved_model(tiny_siam, tmp_path, model_sidecar(tiny_siam), 0)
    (tmp_path / "3").mkdir()
    (tmp_path / "notes").mkdir()
    assert saved_model.next_version(tmp_path) == 4
