"""How the docs tests (`tests/docs/`: two modules, so that the two halves run side by side,
each with its own scratch folder from `conftest.py`) find and run the blocks: every command and snippet of the README
and the guides runs, in a scratch folder, at small sizes.

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
and export `runs/my_photos`) need only `scratch`: they are in
`tests/docs/test_walkthroughs.py`.
"""

import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)  # the virtual environment the tests run in (make test's .venv)

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
