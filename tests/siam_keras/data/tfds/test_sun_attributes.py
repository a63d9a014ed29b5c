import numpy as np
import pytest
from scipy import io

from siam_keras.data.tfds import sun_attributes as sun
from siam_keras.data.tfds.sun_attribute_mapping import (
    PAPER_MAPPING,
    SUN_ATTRIBUTES,
    map_labels,
    validate_mapping,
)
from siam_keras.vocabulary import PAPER_ATTRIBUTES, SPLITS
from tests.dataset_fixtures import write_sun_fixture


def test_the_mapping_covers_the_papers_33_attributes_from_real_sun_names():
    assert tuple(PAPER_MAPPING) == PAPER_ATTRIBUTES
    assert len(SUN_ATTRIBUTES) == 102 and len(set(SUN_ATTRIBUTES)) == 102
    validate_mapping(PAPER_MAPPING)
    ambiguous = {"road": ("asphalt", "pavement"), "transport": ("transporting things or people",),
                 "temple": ("praying",), "social": ("socializing",)}
    for name, sources in ambiguous.items():
        assert PAPER_MAPPING[name] == sources


def test_merged_attributes_take_the_maximum():
    labels = np.zeros((2, 102), "float32")
    labels[0, SUN_ATTRIBUTES.index("ice")] = 1 / 3
    labels[0, SUN_ATTRIBUTES.index("snow")] = 2 / 3
    labels[1, SUN_ATTRIBUTES.index("pavement")] = 1.0
    mapped = map_labels(labels)
    assert mapped.shape == (2, 33)
    assert mapped[0, PAPER_ATTRIBUTES.index("ice_snow")] == pytest.approx(2 / 3)
    assert mapped[1, PAPER_ATTRIBUTES.index("road")] == 1.0
    custom = map_labels(labels, mapping={"cold": ["ice", "snow"], "paved": ["asphalt", "pavement"]})
    np.testing.assert_allclose(custom, [[2 / 3, 0], [0, 1]])


@pytest.mark.parametrize("mapping, match", [
    ({"roads": ["tarmac"]}, r"unknown SUN attributes \['tarmac'\]"),
    ({"roads": "asphalt"}, "list of SUN attributes"),
    ({}, "non-empty dict"),
])
def test_bad_mappings_are_refused(mapping, match):
    with pytest.raises(ValueError, match=match):
        validate_mapping(mapping)


def test_split_is_deterministic_and_80_10_10():
    paths = [f"a/abbey/sun_{i:05d}.jpg" for i in range(20000)]
    splits = [sun.split_of(p) for p in paths]
    assert splits == [sun.split_of(p) for p in paths]
    shares = {s: splits.count(s) / len(splits) for s in SPLITS}
    assert shares["train"] == pytest.approx(0.8, abs=0.01)
    assert shares["validation"] == pytest.approx(0.1, abs=0.01)


def test_reads_the_official_files(tmp_path):
    paths = write_sun_fixture(tmp_path, num_images=12)
    folder = sun.SunAttributesFolder(tmp_path)
    assert folder.attribute_names == SUN_ATTRIBUTES
    assert folder.image_paths == tuple(paths)
    assert folder.labels.shape == (12, 102)
    assert np.isclose(folder.labels[..., None], [0, 1 / 3, 2 / 3, 1], atol=1e-6).any(-1).all()
    listed = [relative for split in SPLITS for _, relative, _ in folder.examples(split)]
    assert sorted(listed) == sorted(paths)


def test_the_mat_files_may_sit_in_a_subfolder(tmp_path):
    write_sun_fixture(tmp_path, num_images=6)
    (tmp_path / "SUNAttributeDB").mkdir()
    for name in sun.MAT_FILES:
        (tmp_path / name).rename(tmp_path / "SUNAttributeDB" / name)
    assert len(sun.SunAttributesFolder(tmp_path).image_paths) == 6


def test_missing_empty_or_wrong_folders_name_the_folder_and_the_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'none'} does not exist") as info:
        sun.SunAttributesFolder(tmp_path / "none")
    assert all(name in str(info.value) for name in sun.MAT_FILES)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="is empty"):
        sun.SunAttributesFolder(tmp_path / "empty")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "votes.tsv").write_text("ID\tLat\n")
    with pytest.raises(FileNotFoundError, match=r"lacks attributes.mat, images.mat, "
                                                 r"attributeLabels_continuous.mat, images/"):
        sun.SunAttributesFolder(wrong)


def test_inconsistent_files_are_named(tmp_path):
    write_sun_fixture(tmp_path, num_images=6)
    io.savemat(tmp_path / "attributeLabels_continuous.mat", {"labels_cv": np.zeros((5, 102))})
    with pytest.raises(ValueError, match=r"labels_cv is \(5, 102\).*\(6, 102\)"):
        sun.SunAttributesFolder(tmp_path)
    io.savemat(tmp_path / "attributeLabels_continuous.mat", {"labels": np.zeros((6, 102))})
    with pytest.raises(ValueError, match="no variable 'labels_cv'"):
        sun.SunAttributesFolder(tmp_path)
    (tmp_path / "images.mat").write_bytes(b"not MATLAB")
    with pytest.raises(ValueError, match="images.mat is not a readable MATLAB file"):
        sun.SunAttributesFolder(tmp_path)
