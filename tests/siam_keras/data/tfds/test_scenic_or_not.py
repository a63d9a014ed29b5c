import pytest

from siam_keras.data.tfds import scenic_or_not as son
from tests.dataset_fixtures import write_son_fixture


@pytest.mark.parametrize("with_id", [True, False])
def test_both_published_layouts_are_read_and_images_found(tmp_path, with_id):
    rows = write_son_fixture(tmp_path, num_images=10, with_id=with_id, missing=(2,), corrupt=())
    folder = son.ScenicOrNotFolder(tmp_path)
    assert len(folder.records) == 10 and not folder.malformed
    first = folder.records[0]
    assert first["scenicness"] == pytest.approx(float(rows[0]["Average"]))
    assert first["scenicness_variance"] == pytest.approx(float(rows[0]["Variance"]))
    assert first["votes"] == [int(v) for v in rows[0]["Votes"].split(",")]
    assert first["photo"] == "500000" and first["id"] == ("1000" if with_id else None)
    assert first["key"] == ("1000" if with_id else "500000")
    assert first["lat"] == pytest.approx(float(rows[0]["Lat"]))
    found = [folder.image_path(r) is not None for r in folder.records]
    assert found.count(False) == 1 and not found[2]


def test_columns_are_found_by_name_in_any_order_and_case(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "votes.tsv").write_text(
        "geograph uri\tVOTES\tVariance\tAverage\tlon\tLat\n"
        "http://www.geograph.org.uk/photo/7\t5,6,7\t0.67\t6.0\t-1.5\t51.2\n"
        "http://www.geograph.org.uk/photo/8\tx,y\t1\t2\t3\t4\n"
        "no photo here\t5\t0\t5\t-1\t52\n")
    folder = son.ScenicOrNotFolder(tmp_path)
    assert [r["key"] for r in folder.records] == ["7"]
    assert folder.records[0]["lat"] == 51.2 and folder.records[0]["votes"] == [5, 6, 7]
    assert len(folder.malformed) == 2 and "votes.tsv:3" in folder.malformed[0]


def test_missing_columns_and_folders_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="(?s)does not exist.*votes.tsv.*images/"):
        son.ScenicOrNotFolder(tmp_path / "none")
    (tmp_path / "votes.tsv").write_text("ID\tLat\tLon\n1\t2\t3\n")
    with pytest.raises(FileNotFoundError, match="lacks images/"):
        son.ScenicOrNotFolder(tmp_path)
    (tmp_path / "images").mkdir()
    with pytest.raises(ValueError, match=r"lacks the columns \['average', 'variance', 'votes', "
                                          r"'geograph uri'\]"):
        son.ScenicOrNotFolder(tmp_path)


def test_spatial_blocks_keep_neighbours_together():
    assert son.photo_number("https://www.geograph.org.uk/photo/123456") == "123456"
    assert son.photo_number("https://example.org/nothing") is None
    # 2 km apart, 10 km cells: same cell, same split; photo-wise they may differ.
    near = [(51.500 + 0.009 * i, -0.100) for i in range(3)]
    assert len({son.split_of(f"p{i}", lat, lon, block_km=10.0)
                for i, (lat, lon) in enumerate(near)}) == 1
    splits = [son.split_of(f"p{i}", 51.0 + (i % 90) * 0.1, -3.0 + (i // 90) * 0.15, 10.0)
              for i in range(8100)]
    assert splits.count("train") / len(splits) == pytest.approx(0.8, abs=0.06)
    assert son.split_of("k", 51, 0) == son.split_of("k", 52, 1)  # photo-wise ignores place
