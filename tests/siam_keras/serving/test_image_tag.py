"""docs/deployment.md's TF Serving recipe picks an image that exists: `tensorflow/serving:2.21.0`
did not, for a TensorFlow 2.21 export."""

import json
import subprocess
import sys

import pytest

from siam_keras.serving.image_tag import serving_tag

#: Docker Hub's tags of tensorflow/serving, as its API lists them (abridged, August 2026).
TAGS = ["latest", "latest-gpu", "nightly", "2.20.0", "2.20.0-gpu", "2.19.1", "2.19.0",
        "2.19.0-gpu", "2.18.0", "2.9.0", "2.20.0-devel"]


def test_the_export_version_if_published_else_the_newest_before_it():
    assert serving_tag("2.21.0", TAGS) == "2.20.0"
    assert serving_tag("2.19.1", TAGS) == "2.19.1"
    assert serving_tag("2.19.3", TAGS) == "2.19.1"
    assert serving_tag("2.10.0", TAGS) == "2.9.0"  # numbers, not text, are compared
    with pytest.raises(ValueError, match="No tensorflow/serving release tag up to 2.1.0"):
        serving_tag("2.1.0", TAGS)
    with pytest.raises(ValueError, match="Not a TensorFlow release version"):
        serving_tag("nightly", TAGS)


def test_the_readme_command_reads_the_sidecar_and_docker_hubs_json(tmp_path):
    sidecar = tmp_path / "siam_model.json"
    sidecar.write_text(json.dumps({"exported_with": {"tensorflow": "2.21.0"}}))
    hub = json.dumps({"count": len(TAGS), "results": [{"name": t} for t in TAGS]})
    done = subprocess.run([sys.executable, "-m", "siam_keras.serving.image_tag", str(sidecar)],
                          input=hub, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout == "2.20.0\n"
    assert "has no 2.21.0 image yet; 2.20.0 is the newest before it" in done.stderr
    done = subprocess.run([sys.executable, "-m", "siam_keras.serving.image_tag", str(sidecar)],
                          input="<html>rate limited</html>", capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1 and done.stdout == "" and "image_tag: error:" in done.stderr
