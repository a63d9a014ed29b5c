"""Every command and snippet of the README runs, in a scratch folder, at small sizes.

The README's blocks are read from the file, not copied here: a snippet that uses an
undefined name or a flag that no longer exists fails this test. Optional flags in
brackets are left out; heavy commands get small-size flags appended (`SMALL`).
What cannot run here is replaced as narrowly as possible: `docker run` by a stub that
checks its image tag and mount, TF Serving by `tests/fake_tf_serving.py` on the
README's port (curl talks to it), `make` by a dry run, and the edge wheel's
`pip install` by the wheel's file name (its fresh-venv install is
`tests/siam_keras/edge/test_fresh_install.py`).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)  # the virtual environment the tests run in (make test's .venv)
pytestmark = pytest.mark.slow

#: Flags appended to the README's heavy commands (by their start) to run them small (a
#: model trained this little fails its health checks: --keep-unhealthy).
SMALL = {
    "siam-train --config demo": "--keep-unhealthy --set data.synthetic_scenes.num_train=64 "
    "data.synthetic_scenes.num_validation=16 data.synthetic_scenes.num_test=32 train.epochs=1 "
    "train.batch_size=16 train.lr_decay_epochs=[] train.min_steps_per_epoch=1 baseline.epochs=1",
    "siam-train --config sun_son_resnet50": "--keep-unhealthy --set "
    "data.sun_scenic_or_not.sun_manual_dir=sun "
    "data.sun_scenic_or_not.son_manual_dir=son data.sun_scenic_or_not.tfds_data_dir=tfds "
    "data.image_size=32 model.backbone=small_cnn 'model.backbone_weights=\"\"' "
    "model.template_size=4 model.border_size=1 train.epochs=1 train.steps_per_epoch=2 "
    "train.batch_size=4 train.lr_decay_epochs=[] train.mixed_precision=false baseline.epochs=1",
    "siam evaluate --model runs/demo/model.keras --config": "--num-images 16",
    "siam evaluate --model runs/demo/model.keras --explanations": "--num-images 16 "
    "--timing-repeats 2 --deletion-steps 2 --num-figures 1",
    "siam-export": "--calibration-images 16 --holdout-images 8 --latency-runs 2",
    "siam download-scenic-or-not": "--allow-host 127.0.0.1 --rate 100",
    "siam example-photos my_photos": "--num-images 60 --image-size 32",
    "siam-train --config my_photos/config.toml": "--keep-unhealthy --set data.image_size=32 "
    "model.template_size=4 "
    "train.epochs=1 train.steps_per_epoch=2 train.batch_size=8 train.lr_decay_epochs=[] "
    "train.attribute_epochs=0 baseline.enabled=false",
    "siam-export --model runs/my_photos": "--tflite float32,int8",
    "--out runs/phone --web": "--tflite int8",
}


def blocks(language):
    """The README's fenced blocks of `language`, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", text, re.S)]


def commands(block):
    """A shell block's commands: continuation lines joined, optional [--flags] left out,
    comments dropped, small-size flags appended."""
    joined = re.sub(r"\\\n\s*", " ", block)
    lines = []
    for line in joined.splitlines():
        line = re.sub(r"\s*\[--[^\]]*\]", "", line)
        line = re.sub(r"\s+#[^'\"]*$", "", line).strip()
        if not line:
            continue
        for start, extra in SMALL.items():
            if start in line:
                line = f"{line} {extra}"
        lines.append(line)
    return lines


def run(command, cwd, env):
    result = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder laid out as the README assumes: .venv, photos, the fixture datasets."""
    from PIL import Image

    from tests.dataset_fixtures import write_son_fixture, write_sun_fixture
    from tests.real_photos import real_photos

    folder = tmp_path_factory.mktemp("readme")
    (folder / ".venv").symlink_to(VENV)
    (folder / "photos").mkdir()
    for path in real_photos()[:3]:
        shutil.copy(path, folder / "photos" / path.name)
    Image.open(real_photos()[3]).convert("RGB").save(folder / "more.jpg")
    Image.open(real_photos()[4]).convert("RGB").save(folder / "photo.jpg")
    (folder / "broken.jpg").write_text("not a photo")
    write_sun_fixture(folder / "sun")
    write_son_fixture(folder / "son", with_id=False)
    stubs = folder / "stubs"
    stubs.mkdir()
    (stubs / "docker").write_text(
        "#!/usr/bin/env bash\n# The image must be the exported TensorFlow's; the mount must exist.\n"
        "for a in \"$@\"; do case $a in tensorflow/serving:*) tag=${a#*:};; esac; done\n"
        "[ \"$tag\" = \"$TF_EXPECTED\" ] || { echo \"image tag $tag\" >&2; exit 1; }\n"
        "[ -d runs/demo/export/saved_model/1 ] || exit 1\n")
    (stubs / "docker").chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def env(scratch):
    import tensorflow as tf

    environment = dict(os.environ, PATH=f"{scratch / 'stubs'}:{VENV / 'bin'}:{os.environ['PATH']}",
                       TF_EXPECTED=tf.__version__, TF_CPP_MIN_LOG_LEVEL="2")
    environment.pop("PYTHONPATH", None)
    return environment


def block(language, marker):
    """The one README block of `language` that contains `marker`."""
    found = [text for text in blocks(language) if marker in text]
    assert len(found) == 1, (language, marker, len(found))
    return found[0]


def test_every_readme_block_is_run_below():
    """A new block must be added to the test: each block is matched by one marker."""
    markers = {"sh": MARKERS_SH, "python": MARKERS_PYTHON, "toml": MARKERS_TOML}
    for language, known in markers.items():
        for text in blocks(language):
            assert sum(marker in text for marker in known) == 1, text[:80]


MARKERS_SH = ("make demo", "siam-train --config demo", "siam explain --model runs/demo",
              "siam evaluate --model runs/demo", "download-scenic-or-not",
              "--config sun_son_resnet50", "--calibration DIR", "docker run",
              "request.json", "siam-edge explain", "siam example-photos",
              "siam-train --config my_photos", "http.server")
MARKERS_PYTHON = ("build_siam_model", "ServingClient(", "save_weights(")
MARKERS_TOML = ('dataset = "manifest"', "attribute_epochs = 15")


def test_make_targets_exist():
    result = subprocess.run(["make", "-n", "-C", str(ROOT), "demo", "test"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in block("sh", "make demo").splitlines() if line.strip()
            and not line.startswith(" ")] == ["make", "make"]


def test_every_command_and_snippet_runs(scratch, env):
    train = block("sh", "siam-train --config demo")
    explain = block("sh", "siam explain --model runs/demo")
    evaluate = block("sh", "siam evaluate --model runs/demo")
    library = block("python", "build_siam_model")
    download = block("sh", "download-scenic-or-not")
    paper = block("sh", "--config sun_son_resnet50")
    export = block("sh", "--calibration DIR")
    serving, request = block("sh", "docker run"), block("sh", "request.json")
    edge = block("sh", "siam-edge explain")
    for command in commands(train) + commands(explain) + commands(evaluate):
        run(command, scratch, env)
    assert (scratch / "explained" / "summary.json").is_file()
    assert (scratch / "runs" / "demo" / "explanations.json").is_file()
    run(f"{sys.executable} -c {shell_quote(library)}", scratch, env)

    from tests.siam_keras.data.test_geograph import FakeGeograph

    geograph = FakeGeograph()
    try:
        votes = scratch / "data" / "scenic_or_not"
        votes.mkdir(parents=True)
        (votes / "votes.tsv").write_text(
            "Lat\tLon\tAverage\tVariance\tVotes\tGeograph URI\n"
            f"51\t-1\t5\t1\t4,5,6\t{geograph.url}/photo/41\n")
        for command in commands(download):
            run(command, scratch, env)
        assert (votes / "images" / "41.jpg").is_file()
    finally:
        geograph.httpd.shutdown()
        geograph.httpd.server_close()
    for command in commands(paper) + commands(export):
        run(command, scratch, env)
    assert (scratch / "runs" / "paper" / "metrics.json").is_file()

    from tests.fake_tf_serving import FakeTFServing

    port = free_port(8501)
    with FakeTFServing(scratch / "runs" / "demo" / "export" / "saved_model" / "1", port=port):
        on_port = lambda text: text.replace("localhost:8501", f"localhost:{port}")  # noqa: E731
        status = run(on_port("\n".join(commands(serving))), scratch, env)
        assert '"AVAILABLE"' in status and "serve_image_bytes" in status
        answer = run(on_port("\n".join(commands(serving)[:1] + commands(request))), scratch, env)
        assert '"predictions"' in answer and '"scenicness"' in answer
        snippet = on_port(block("python", "ServingClient("))
        run(f"{sys.executable} -c {shell_quote(snippet + chr(10) + 'assert len(records) == 2')}",
            scratch, env)

    wheel, explain_edge = commands(edge)
    assert (scratch / wheel.split()[2]).is_file()  # the README names the wheel the export wrote
    tflite = scratch / "runs" / "demo" / "export" / "tflite"
    shutil.copytree(scratch / "photos", tflite / "photos")
    run(explain_edge, tflite, env)
    assert (tflite / "explained" / "summary.json").is_file()


def test_the_web_page_block_runs(scratch, env):
    """"In the browser": make web (a dry run: make test installed it), the export with
    --web, and the static server, asked for the page and its model from another process."""
    import json
    import time
    import urllib.request

    install, export, serve = commands(block("sh", "http.server"))
    assert install == "make web"
    run(f"make -n -C {ROOT} web", scratch, env)
    run(export, scratch, env)
    port = free_port(8000)
    server = subprocess.Popen(["bash", "-c", serve.replace("8000", str(port))], cwd=scratch,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(50):
            try:
                page = urllib.request.urlopen(url, timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert "<title>SIAM explainer</title>" in page
        settings = json.loads(urllib.request.urlopen(url + "page.json", timeout=5).read())
        assert settings["variant"] == "int8"
        model = urllib.request.urlopen(url + settings["model"], timeout=5).read()
        assert len(model) == (scratch / "runs" / "phone" / "tflite" / "model_int8.tflite").stat().st_size
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_own_photos_walkthrough_runs(scratch, env):
    """"Train on your own photos", verbatim at a small size: example photos, the config
    block saved where the README says, then train, evaluate, explain and export."""
    import json

    for command in commands(block("sh", "siam example-photos")):
        run(command, scratch, env)
    (scratch / "my_photos" / "config.toml").write_text(block("toml", 'dataset = "manifest"'))
    for command in commands(block("sh", "siam-train --config my_photos")):
        run(command, scratch, env)
    folder = scratch / "runs" / "my_photos"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert {"accuracy", "macro_f1", "recall"} <= set(metrics["outputs"]["landscape"])
    assert metrics["dataset"]["num_skipped_rows"] == 0
    tested = json.loads((folder / "test.json").read_text())
    assert tested["dataset"]["split"] == "test" and "kendall_tau" in tested["outputs"]["scenicness"]
    summary = json.loads((folder / "explained" / "summary.json").read_text())
    assert summary["num_failed"] == 0 and summary["num_explained"] > 0
    points = json.loads((folder / "explained" / "locations.geojson").read_text())
    assert len(points["features"]) == summary["num_explained"]
    record = json.loads((folder / "explained" / summary["explained"][0]["json"]).read_text())
    assert record["location"]["source"] == "manifest"
    assert record["outputs"]["landscape"]["kind"] == "classification"
    assert (folder / "export" / "tflite" / "model_int8.tflite").is_file()


def shell_quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def free_port(preferred):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]


def test_the_hand_tuned_block_is_a_valid_addition_to_the_minimal_config(tmp_path):
    from training.config import load_config

    (tmp_path / "config.toml").write_text(block("toml", 'dataset = "manifest"') + "\n"
                                          + block("toml", "attribute_epochs = 15"))
    (tmp_path / "photos.csv").write_text("image\n")
    config = load_config(tmp_path / "config.toml")
    assert (config.train.attribute_epochs, config.train.freeze_backbone) == (15, True)


def test_the_offline_weights_recipe_saves_a_file_a_config_can_name(tmp_path, monkeypatch):
    """Run as written, but with random weights instead of the download ("imagenet")."""
    import numpy as np

    monkeypatch.chdir(tmp_path)
    snippet = block("python", "save_weights(").replace('weights="imagenet"', "weights=None")
    exec(compile(snippet, "README.md", "exec"), {})
    saved = tmp_path / "resnet50_imagenet_notop.weights.h5"
    assert saved.is_file()
    from training.builders import siam_model_from_config
    from training.config import load_config

    config = load_config(None, ["model.backbone=resnet50", f"model.backbone_weights='{saved}'",
                                "data.image_size=64", "model.template_size=2",
                                "model.border_size=0"])
    model = siam_model_from_config(config, ["a"], ["score"])
    import keras

    reference = keras.applications.ResNet50(include_top=False, weights=None)
    reference.load_weights(saved)
    used = model.backbone.get_layer("resnet50")
    for a, b in zip(reference.weights[:5], used.weights[:5]):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
