"""The docs tests' scratch folder and environment, one of each per module."""

import os
import shutil

import pytest

from tests.docs.blocks import VENV


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
