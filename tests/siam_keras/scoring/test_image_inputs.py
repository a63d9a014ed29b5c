import os

import pytest

from siam_keras.data import ManifestError
from siam_keras.scoring import ImageItem, list_inputs
from siam_keras.scoring.image_inputs import is_manifest


@pytest.fixture
def folder(tmp_path):
    for name in ("a/x.jpg", "b/x.png", "b/y.PNG", "b/notes.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    return tmp_path


def test_a_pattern_or_a_folder_lists_its_files_sorted(folder):
    items, problems = list_inputs(str(folder / "b" / "*"))
    assert [os.path.basename(i.image) for i in items] == ["notes.txt", "x.png", "y.PNG"]
    assert problems == [] and items[0] == ImageItem(str(folder / "b" / "notes.txt"))
    items, _ = list_inputs(str(folder / "**" / "x.*"))
    assert [os.path.relpath(i.image, folder) for i in items] == ["a/x.jpg", "b/x.png"]
    items, _ = list_inputs(folder)  # a folder: its images, recursively
    assert [os.path.relpath(i.image, folder) for i in items] == ["a/x.jpg", "b/x.png", "b/y.PNG"]
    with pytest.raises(FileNotFoundError, match=r"No files match .*\*\.gif"):
        list_inputs(str(folder / "*.gif"))


def test_json_names_are_unique_stems(folder, tmp_path):
    items, _ = list_inputs(str(folder / "**" / "x.*"), explanations=tmp_path / "out")
    assert [i.json_name for i in items] == ["x", "x-2"]


def test_a_manifest_needs_only_its_image_column_and_names_each_bad_row(tmp_path):
    (tmp_path / "photos.csv").write_text(
        "photo,lat,lon\nx.jpg,51.5,-0.12\nsub/y.jpg,,\n,1,2\nz.jpg,95,0\n", encoding="utf-8")
    assert is_manifest(tmp_path / "photos.csv") and not is_manifest(tmp_path / "x.jpg")
    items, problems = list_inputs(tmp_path / "photos.csv", "photo", "lat", "lon")
    assert items == [ImageItem(str(tmp_path / "x.jpg"), (51.5, -0.12)),
                     ImageItem(str(tmp_path / "sub" / "y.jpg"))]
    assert [(p.image, p.reason) for p in problems] == [
        (f"{tmp_path / 'photos.csv'}:4", "column 'photo': no image (the cell is empty)"),
        (f"{tmp_path / 'photos.csv'}:5", "column 'lat': '95' is outside [-90, 90]")]
    with pytest.raises(ManifestError, match="photos.csv has no column 'image'"):
        list_inputs(tmp_path / "photos.csv")
    with pytest.raises(FileNotFoundError, match="none.parquet: no such manifest file"):
        list_inputs(tmp_path / "none.parquet")
