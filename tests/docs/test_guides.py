"""The guides' blocks that read the demo run (`runs/demo/`) and its export, and the checks
that every block is run (`blocks.py` says how blocks are found and run)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.blocks import (
    MARKERS,
    ROOT,
    RUN,
    SHOWN,
    block,
    blocks,
    commands,
    fenced_blocks,
    free_port,
    run,
    shell_quote,
)

pytestmark = pytest.mark.slow


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
