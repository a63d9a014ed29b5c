"""Every command and snippet of the README and the guides runs, in a scratch folder, at small sizes.

The documents are `README.md`, `CHANGELOG.md` and every `docs/*.md` (`documents()`): a new
guide is read without being listed here. Their blocks are read from the files, not copied
here: a snippet that uses an undefined name or a flag that no longer exists fails this test.
Optional flags in brackets are left out; heavy commands get small-size flags appended
(`SMALL`). What cannot run here is replaced as narrowly as possible: `docker run` by a stub
that checks its image tag and mount, TF Serving by `tests/fake_tf_serving.py` on the
guide's port (curl talks to it), `make` by a dry run, and the edge wheel's `pip install` by
the wheel's file name (its fresh-venv install is `tests/siam_keras/edge/test_fresh_install.py`).

`sh`, `python` and `toml` blocks are run (a TOML block as the config its guide says to save);
`console` blocks (commands that need a cluster), `text` blocks (printed output) and blocks
without a language (file listings) are shown only. Each run block is picked by a marker, a
string only it contains (`MARKERS`), and `test_every_block_is_run_below` fails on a block no
marker picks: a new block needs a marker and a run below. The README shows each main
command exactly as its guide does: a block repeated verbatim in several documents is one
block, run once; a copy that drifts becomes a second block with the same marker, and fails.

Order: blocks use files that earlier blocks wrote. Module-scoped fixtures run them in the
order that makes them work, each named for what it leaves in the scratch folder:

- `scratch`: `photos/`, `more.jpg`, `photo.jpg`, `broken.jpg`, `photos.csv`, the SUN and
  ScenicOrNot fixtures (`sun/`, `son/`), and the `docker` stub;
- `demo` (`siam-train --config demo`, training.md): `runs/demo/`, which `siam explain`,
  `siam evaluate`, the library snippet and the web page's `siam-export --web` read;
- `exported` (`siam-export`, deployment.md; needs `demo`): `runs/demo/export/`, which TF
  Serving, `siam-edge` and `siam score` read.

The paper's blocks (paper.md) and the own-photos walkthrough (own-photos.md, whose blocks
follow each other: `siam example-photos`, the saved config, then train, evaluate, explain
and export `runs/my_photos`) need only `scratch`.
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

#: Block languages that are run, and those only shown.
RUN = ("sh", "python", "toml")
SHOWN = ("console", "text", "")

#: Flags appended to the guides' heavy commands (by their start) to run them small (a
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
    "siam-train --config tags": "--keep-unhealthy --set "
    "data.synthetic_scenes.num_train=64 data.synthetic_scenes.num_validation=16 "
    "data.synthetic_scenes.num_test=32 train.epochs=1 train.batch_size=16 "
    "train.lr_decay_epochs=[] train.min_steps_per_epoch=1 baseline.epochs=1",
    "siam-train --config my_photos/config.toml": "--keep-unhealthy --set data.image_size=32 "
    "model.template_size=4 "
    "train.epochs=1 train.steps_per_epoch=2 train.batch_size=8 train.lr_decay_epochs=[] "
    "train.attribute_epochs=0 baseline.enabled=false",
    "siam-export --model runs/my_photos": "--tflite float32,int8",
    "--out runs/phone --web": "--tflite int8",
}

#: One marker per run block: a string that block alone contains, in any document.
MARKERS = {
    "sh": ("make install", "make demo", "siam-train --config demo",
           "siam explain --model runs/demo", "siam evaluate --model runs/demo",
           "download-scenic-or-not", "--config sun_son_resnet50", "--calibration DIR",
           "docker run", "request.json", "siam-edge explain", "siam score --model runs/demo",
           "siam example-photos", "siam-train --config my_photos", "http.server",
           "siam-train --config tags"),
    "python": ("build_siam_model", "ServingClient(", "save_weights(", "save_to_preset("),
    "toml": ('dataset = "manifest"', "attribute_epochs = 15"),
}


def documents():
    """The Markdown files whose blocks are run: the README, the changelog, every guide."""
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]


def fenced_blocks():
    """[(document, language, text)] of every fenced block, in document order."""
    found = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
            found.append((path.relative_to(ROOT).as_posix(), match.group(1), match.group(2)))
    return found


def blocks(language):
    """The distinct fenced blocks of `language` in all the documents, in order (a block
    repeated verbatim, as the README repeats its guides' commands, counts once)."""
    distinct = []
    for _, lang, text in fenced_blocks():
        if lang == language and text not in distinct:
            distinct.append(text)
    return distinct


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
    result = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, check=False,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def block(language, marker):
    """The one block of `language`, in all the documents, that contains `marker`."""
    found = [text for text in blocks(language) if marker in text]
    assert len(found) == 1, (language, marker, len(found))
    return found[0]


def test_every_block_is_run_below():
    """A new block must be added to the test: each run block is matched by one marker, and
    every other block is of a language that is only shown."""
    for document, language, text in fenced_blocks():
        assert language in RUN + SHOWN, (document, language, text[:80])
    for language in RUN:
        for text in blocks(language):
            picked = [marker for marker in MARKERS[language] if marker in text]
            assert len(picked) == 1, (language, picked, text[:80])
        for marker in MARKERS[language]:
            block(language, marker)


def test_the_readme_shows_the_guides_commands_as_they_are():
    """The README's commands are its guides' blocks, verbatim (so they run once, above)."""
    readme = {text for document, _, text in fenced_blocks() if document == "README.md"}
    guides = {text for document, _, text in fenced_blocks() if document.startswith("docs/")}
    assert readme and readme <= guides, sorted(readme - guides)


def test_make_targets_exist():
    result = subprocess.run(["make", "-n", "-C", str(ROOT), "demo", "test", "install", "docs"],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for marker, targets in (("make demo", ["demo", "test"]), ("make install", ["install", "docs"])):
        lines = [line.split() for line in block("sh", marker).splitlines()
                 if line.strip() and not line.startswith(" ")]
        assert [line[:2] for line in lines] == [["make", target] for target in targets]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder laid out as the guides assume: .venv, photos, the fixture datasets."""
    from PIL import Image

    from tests.dataset_fixtures import write_son_fixture, write_sun_fixture
    from tests.real_photos import real_photos

    folder = tmp_path_factory.mktemp("docs")
    (folder / ".venv").symlink_to(VENV)
    (folder / "photos").mkdir()
    for path in real_photos()[:3]:
        shutil.copy(path, folder / "photos" / path.name)
    Image.open(real_photos()[3]).convert("RGB").save(folder / "more.jpg")
    Image.open(real_photos()[4]).convert("RGB").save(folder / "photo.jpg")
    (folder / "broken.jpg").write_text("not a photo")
    # The manifest `siam score` reads: the photos, and one that cannot be read.
    listed = [f"photos/{path.name}" for path in sorted((folder / "photos").iterdir())]
    (folder / "photos.csv").write_text("image\n" + "\n".join(listed + ["broken.jpg"]) + "\n")
    write_sun_fixture(folder / "sun")
    write_son_fixture(folder / "son", with_id=False)
    stubs = folder / "stubs"
    stubs.mkdir()
    (stubs / "docker").write_text(
        "#!/usr/bin/env bash\n"
        "# The image must be the exported TensorFlow's; the mount must exist.\n"
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


@pytest.fixture(scope="module")
def demo(scratch, env):
    """training.md's `siam-train` block (also the README's): `runs/demo/`."""
    for command in commands(block("sh", "siam-train --config demo")):
        run(command, scratch, env)
    assert (scratch / "runs" / "demo" / "model.keras").is_file()
    return scratch


@pytest.fixture(scope="module")
def exported(demo, env):
    """deployment.md's `siam-export` block (also the README's): `runs/demo/export/`."""
    for command in commands(block("sh", "--calibration DIR")):
        run(command, demo, env)
    assert (demo / "runs" / "demo" / "export" / "saved_model" / "1").is_dir()
    return demo


def test_the_explain_and_evaluate_blocks_run(demo, env):
    """explaining.md's `siam explain` and explanations.md's `siam evaluate` blocks."""
    explain = block("sh", "siam explain --model runs/demo")
    evaluate = block("sh", "siam evaluate --model runs/demo")
    for command in commands(explain) + commands(evaluate):
        run(command, demo, env)
    assert (demo / "explained" / "summary.json").is_file()
    assert (demo / "runs" / "demo" / "explanations.json").is_file()


def test_the_library_block_runs(demo, env):
    """library.md's snippet, run as a script in the scratch folder."""
    run(f"{sys.executable} -c {shell_quote(block('python', 'build_siam_model'))}", demo, env)


def test_the_preset_block_saves_and_loads_the_demo_model(demo, env):
    """backbones.md's snippet: the demo model as a keras-hub preset folder, loaded back."""
    output = run(f"{sys.executable} -c {shell_quote(block('python', 'save_to_preset('))}", demo,
                 env)
    assert "scenicness" in output
    assert (demo / "runs" / "demo_preset" / "metadata.json").is_file()


def test_the_paper_data_blocks_run(scratch, env):
    """paper.md: the ScenicOrNot downloader (against a fake Geograph) and the paper's
    training on the SUN and ScenicOrNot fixtures."""
    from tests.siam_keras.data.download.test_geograph import FakeGeograph

    geograph = FakeGeograph()
    try:
        votes = scratch / "data" / "scenic_or_not"
        votes.mkdir(parents=True)
        (votes / "votes.tsv").write_text(
            "Lat\tLon\tAverage\tVariance\tVotes\tGeograph URI\n"
            f"51\t-1\t5\t1\t4,5,6\t{geograph.url}/photo/41\n")
        for command in commands(block("sh", "download-scenic-or-not")):
            run(command, scratch, env)
        assert (votes / "images" / "41.jpg").is_file()
    finally:
        geograph.httpd.shutdown()
        geograph.httpd.server_close()
    for command in commands(block("sh", "--config sun_son_resnet50")):
        run(command, scratch, env)
    assert (scratch / "runs" / "paper" / "metrics.json").is_file()


def test_the_serving_and_edge_blocks_run(exported, env):
    """deployment.md: TF Serving (a stand-in on the guide's port), its client, `siam-edge`."""
    from tests.fake_tf_serving import FakeTFServing

    serving, request = block("sh", "docker run"), block("sh", "request.json")
    port = free_port(8501)
    with FakeTFServing(exported / "runs" / "demo" / "export" / "saved_model" / "1", port=port):
        on_port = lambda text: text.replace("localhost:8501", f"localhost:{port}")  # noqa: E731
        status = run(on_port("\n".join(commands(serving))), exported, env)
        assert '"AVAILABLE"' in status and "serve_image_bytes" in status
        answer = run(on_port("\n".join(commands(serving)[:1] + commands(request))), exported, env)
        assert '"predictions"' in answer and '"scenicness"' in answer
        snippet = on_port(block("python", "ServingClient("))
        run(f"{sys.executable} -c {shell_quote(snippet + chr(10) + 'assert len(records) == 2')}",
            exported, env)

    wheel, explain_edge = commands(block("sh", "siam-edge explain"))
    assert (exported / wheel.split()[2]).is_file()  # the guide names the wheel the export wrote
    tflite = exported / "runs" / "demo" / "export" / "tflite"
    shutil.copytree(exported / "photos", tflite / "photos")
    run(explain_edge, tflite, env)
    assert (tflite / "explained" / "summary.json").is_file()


def test_the_scoring_block_runs(exported, env):
    """scoring.md's local `siam score` (also the README's): Beam's direct runner scores the
    manifest's photos and lists the one that cannot be read, without failing the job."""
    import csv

    for command in commands(block("sh", "siam score --model runs/demo")):
        run(command, exported, env)
    with open(exported / "scores.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 3 and all(row["scenicness"] for row in rows)
    with open(exported / "failures.csv", newline="", encoding="utf-8") as file:
        failures = list(csv.DictReader(file))
    assert [Path(row["image"]).name for row in failures] == ["broken.jpg"]


def test_the_web_page_block_runs(demo, env):
    """"In the browser": make web (a dry run: make test installed it), the export with
    --web, and the static server, asked for the page and its model from another process."""
    import json
    import time
    import urllib.request

    install, export, serve = commands(block("sh", "http.server"))
    assert install == "make web"
    run(f"make -n -C {ROOT} web", demo, env)
    run(export, demo, env)
    port = free_port(8000)
    server = subprocess.Popen(["bash", "-c", serve.replace("8000", str(port))], cwd=demo,
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
        served = demo / "runs" / "phone" / "tflite" / "model_int8.tflite"
        assert len(model) == served.stat().st_size
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_own_photos_walkthrough_runs(scratch, env):
    """own-photos.md, verbatim at a small size: example photos, the config block saved
    where the guide says, then train, evaluate, explain and export."""
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


def test_the_multilabel_block_trains_tags(scratch, env):
    """own-photos.md's multi-label config trains, small: metrics.json scores every tag."""
    import json

    for command in commands(block("sh", "siam-train --config tags")):
        run(command, scratch, env)
    metrics = json.loads((scratch / "runs" / "tags" / "metrics.json").read_text())
    tags = metrics["outputs"]["tags"]
    assert {"mean_ap", "micro_f1", "macro_f1"} <= set(tags)
    assert set(tags["ap"]) == {"waterside", "wooded", "built_up", "rocky"}
    assert "contribution_r" in metrics["ground_truth"]["outputs"]["tags"]


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
    exec(compile(snippet, "docs/own-photos.md", "exec"), {})
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
