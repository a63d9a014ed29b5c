import subprocess
import sys

import numpy as np
import pytest

from siam_keras.data.tfds import sun_attributes as sun
from tests.dataset_fixtures import write_son_fixture, write_sun_fixture

pytestmark = pytest.mark.slow


def _prepare(name, manual_dir, data_dir, config=None):
    import tensorflow_datasets as tfds

    from siam_keras.data import register_tfds_builders

    register_tfds_builders()

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
    from siam_keras.data.tfds.sun_attributes_builder import SunAttributesConfig

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
def test_missing_or_empty_manual_folders_are_named_with_the_files(folders, tmp_path, name,
                                                                  expected):
    with pytest.raises(FileNotFoundError) as info:
        _prepare(name, tmp_path / "absent", tmp_path / "tfds")
    assert str(tmp_path / "absent") in str(info.value) and expected in str(info.value)
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "README.txt").write_text("not the dataset")
    with pytest.raises(FileNotFoundError) as info:
        _prepare(name, wrong, tmp_path / "tfds2")
    message = str(info.value)
    assert str(wrong) in message and "lacks" in message and expected in message


REGISTERED = ("import sys, siam_keras.data; assert 'tensorflow' not in sys.modules; "
              "siam_keras.data.register_tfds_builders(); import tensorflow_datasets as tfds; "
              "print([tfds.builder_cls(n).name for n in ('sun_attributes', 'scenic_or_not', "
              "'synthetic_scenes')])")


def test_builders_are_registered_by_an_explicit_call_and_not_on_import():
    result = subprocess.run([sys.executable, "-c", REGISTERED], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "['sun_attributes', 'scenic_or_not', 'synthetic_scenes']" in result.stdout
    unregistered = subprocess.run(
        [sys.executable, "-c", "import siam_keras.data, tensorflow_datasets as tfds; "
         "tfds.builder_cls('sun_attributes')"], capture_output=True, text=True, timeout=300)
    assert unregistered.returncode != 0  # no import hook registers them behind the scenes


def test_hostile_sun_paths_and_duplicates_are_listed_and_left_out(tmp_path):
    """images.mat entries that climb out of images/, absolute ones and a duplicate are
    listed with file and entry and left out; the secret beside the folder is never read."""
    from scipy import io

    from tests.dataset_fixtures import _cell

    paths = write_sun_fixture(tmp_path / "sun", num_images=24, missing=(), corrupt=())
    secret = tmp_path / "secret.png"
    from PIL import Image

    Image.new("RGB", (8, 8), (255, 0, 0)).save(secret)
    hostile = list(paths)
    hostile[1], hostile[2], hostile[3] = "../../secret.png", str(secret), paths[0]
    io.savemat(tmp_path / "sun" / "images.mat", {"images": _cell(hostile)})
    folder = sun.SunAttributesFolder(tmp_path / "sun")
    assert sorted(folder.malformed) == [1, 2, 3]
    assert "images.mat:2: '../../secret.png' is not a path inside images/" in folder.malformed[1]
    assert "is also entry 1" in folder.malformed[3]
    listed = [relative for split in ("train", "validation", "test")
              for _, relative, _ in folder.examples(split)]
    assert len(listed) == 21 and "../../secret.png" not in listed
    builder = _prepare("sun_attributes/paper33", tmp_path / "sun", tmp_path / "tfds")
    assert builder.info.metadata["num_malformed_rows"] == 3
    assert sum(split.num_examples for split in builder.info.splits.values()) == 21


def test_malformed_votes_rows_are_listed_with_file_and_line_and_the_build_goes_on(tmp_path):
    rows = write_son_fixture(tmp_path / "son", num_images=20, missing=(), corrupt=())
    lines = (tmp_path / "son" / "votes.tsv").read_text().splitlines()
    uri = rows[0]["Geograph URI"]
    bad = [f"{rows[0]['ID']}\t51\t-1\t5\t1\t5,5\t{uri}9",          # duplicate ID
           f"3000\t51\t-1\t5\t1\t5,5\t{uri}",                      # duplicate URI
           "3001\tnan\t-1\t5\t1\t5,5\thttp://www.geograph.org.uk/photo/3001",
           "3002\t51\tinf\t5\t1\t5,5\thttp://www.geograph.org.uk/photo/3002",
           "3003\t51\t-1\t11\t1\t5,5\thttp://www.geograph.org.uk/photo/3003",
           "../../x\t51\t-1\t5\t1\t5,5\thttp://www.geograph.org.uk/photo/3004",
           "3005\t51\t-1\t5\t1\t5,5\t" + "x" * 200_000]              # an over-long field
    (tmp_path / "son" / "votes.tsv").write_text("\n".join(lines + bad) + "\n")
    from siam_keras.data.tfds import scenic_or_not as son

    folder = son.ScenicOrNotFolder(tmp_path / "son")
    assert len(folder.records) == 20
    reasons = {int(line.split(":")[1]): line for line in folder.malformed}
    assert sorted(reasons) == list(range(22, 29))
    assert "key '1000' is also on line 2" in reasons[22]
    assert "uri" in reasons[23] and "also on line 2" in reasons[23]
    assert "lat must be a finite number in [-90, 90]. Received: 'nan'" in reasons[24]
    assert "lon must be a finite number" in reasons[25]
    assert "average must be a finite number in [1, 10]" in reasons[26]
    assert "not a plain name" in reasons[27]
    assert "longer than 10000 characters" in reasons[28]
    builder = _prepare("scenic_or_not/spatial", tmp_path / "son", tmp_path / "tfds")
    assert builder.info.metadata["num_malformed_rows"] == 7
    assert sum(split.num_examples for split in builder.info.splits.values()) == 20


def test_the_authors_own_labels_are_read_exactly_and_our_mapping_compared(tmp_path):
    from tests.dataset_fixtures import write_authors_labels

    paths = write_sun_fixture(tmp_path / "sun", num_images=24, missing=(), corrupt=())
    with pytest.raises(FileNotFoundError, match="attributes2.mat.*github.com/dmarcosg/SIAM"):
        sun.SunAttributesFolder(tmp_path / "sun").authors_labels()
    authors = write_authors_labels(tmp_path / "sun", disagree=("road",))
    builder = _prepare("sun_attributes/authors33", tmp_path / "sun", tmp_path / "tfds")
    assert builder.info.metadata["attribute_names"][6] == "road"
    by_path = {e["image/filename"].numpy().decode(): e["attributes"].numpy()
               for split in builder.info.splits for e in builder.as_dataset(split=split)}
    assert len(by_path) == 24
    for i, relative in enumerate(paths):
        np.testing.assert_allclose(by_path[relative], authors[i], atol=1e-6)
    agreement = builder.info.metadata["mapping_agreement"]
    assert agreement["trees"]["same_label"] == 1.0 and agreement["road"]["same_label"] < 0.7
