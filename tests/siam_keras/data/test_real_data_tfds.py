import subprocess
import sys

import numpy as np
import pytest

from siam_keras.data import sun_attributes as sun
from tests.dataset_fixtures import write_son_fixture, write_sun_fixture

pytestmark = pytest.mark.slow


def _prepare(name, manual_dir, data_dir, config=None):
    import tensorflow_datasets as tfds

    import siam_keras.data  # noqa: F401

    extra = {"config": config} if config is not None else {}
    builder = tfds.builder(name, data_dir=str(data_dir), **extra)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=str(manual_dir), try_download_gcs=False))
    return builder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("real_data")
    write_sun_fixture(root / "sun")
    write_son_fixture(root / "son")
    return root


def test_sun_attributes_builds_with_the_papers_33_and_keeps_its_split(folders):
    builder = _prepare("sun_attributes/paper33", folders / "sun", folders / "tfds")
    sizes = {name: split.num_examples for name, split in builder.info.splits.items()}
    skipped = builder.info.metadata["skipped"]["counts"]
    assert sum(sizes.values()) + sum(skipped.values()) == 48
    assert sum(v for k, v in skipped.items() if k.endswith("missing")) == 2
    assert sum(v for k, v in skipped.items() if k.endswith("unreadable")) == 2
    split_files = builder.info.metadata["split_files"]
    for name, files in split_files.items():
        assert all(sun.split_of(f) == name for f in files)
    example = next(iter(builder.as_dataset(split="train").take(1)))
    assert example["attributes"].shape == (33,) and example["image"].shape[-1] == 3
    assert builder.info.metadata["attribute_names"][6] == "road"
    reloaded = _prepare("sun_attributes/paper33", folders / "nowhere", folders / "tfds")
    assert reloaded.info.metadata["split_files"] == split_files  # saved with the data


def test_all102_and_custom_mappings(folders):
    from siam_keras.data.sun_attributes_tfds import SunAttributesConfig

    all102 = _prepare("sun_attributes/all102", folders / "sun", folders / "tfds")
    assert next(iter(all102.as_dataset(split="train").take(1)))["attributes"].shape == (102,)
    custom = SunAttributesConfig(name="water", mapping={"water": ["ocean", "still water",
                                                                  "running water"]})
    builder = _prepare("sun_attributes", folders / "sun", folders / "tfds", config=custom)
    labels = np.stack([e["attributes"].numpy() for e in builder.as_dataset(split="train")])
    assert labels.shape[-1] == 1 and builder.info.metadata["attribute_names"] == ["water"]


def test_scenic_or_not_builds_and_counts_what_it_leaves_out(folders):
    builder = _prepare("scenic_or_not/spatial", folders / "son", folders / "tfds")
    sizes = {name: split.num_examples for name, split in builder.info.splits.items()}
    counts = builder.info.metadata["skipped"]["counts"]
    assert sum(sizes.values()) == 48 - 3 - 1
    assert sum(counts.values()) == 4
    example = next(iter(builder.as_dataset(split="train").take(1)))
    assert example["votes"].shape == (5,) and 1 <= float(example["scenicness"]) <= 10
    assert example["latitude"].dtype.name == "float32" and example["id"].numpy().decode()


@pytest.mark.parametrize("name, expected", [
    ("sun_attributes/paper33", "attributes.mat"), ("scenic_or_not/default", "votes.tsv")])
def test_missing_or_empty_manual_folders_are_named_with_the_files(folders, tmp_path, name, expected):
    with pytest.raises(FileNotFoundError) as info:
        _prepare(name, tmp_path / "absent", tmp_path / "tfds")
    assert str(tmp_path / "absent") in str(info.value) and expected in str(info.value)
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "README.txt").write_text("not the dataset")
    with pytest.raises(FileNotFoundError) as info:
        _prepare(name, wrong, tmp_path / "tfds2")
    assert str(wrong) in str(info.value) and "lacks" in str(info.value) and expected in str(info.value)


REGISTERED = ("import sys; {first}; {second}; "
              "print([tfds.builder_cls(n).name for n in ('sun_attributes', 'scenic_or_not', "
              "'synthetic_scenes')])")


@pytest.mark.parametrize("first, second", [
    ("import siam_keras.data; assert 'tensorflow' not in sys.modules", "import tensorflow_datasets as tfds"),
    ("import tensorflow_datasets as tfds", "import siam_keras.data"),
])
def test_builders_are_registered_by_importing_siam_keras_data(first, second):
    result = subprocess.run([sys.executable, "-c", REGISTERED.format(first=first, second=second)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "['sun_attributes', 'scenic_or_not', 'synthetic_scenes']" in result.stdout
