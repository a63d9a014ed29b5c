"""`explainer.explain_files(paths)`: photo files to explanations, each file failing alone."""

import numpy as np
import pytest

from siam_keras.runtime.images import read_photo, resize_for_model
from tests.real_photos import real_photos


@pytest.fixture(scope="module")
def explainer(tiny_siam):
    from siam_keras.explanations import SIAMExplainer

    return SIAMExplainer(tiny_siam)


def test_each_file_is_explained_as_siam_explain_reads_it_and_bad_ones_fail_alone(explainer,
                                                                                 tmp_path):
    photos = [str(path) for path in real_photos()[:5]]
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 40)
    paths = [photos[0], str(tmp_path / "broken.jpg"), *photos[1:3], str(tmp_path / "none.png"),
             str(tmp_path), *photos[3:]]
    results = explainer.explain_files(iter(paths), top_k=3, batch_size=2)  # any iterable
    assert [result.path for result in results] == paths  # in order, one each
    assert [result.ok for result in results] == [True, False, True, True, False, False, True, True]
    assert results[1].error == "not an image Pillow can read (unknown or corrupt format)"
    assert results[4].error == "no such file"
    assert "folder" in results[5].error
    for result in results:
        if not result.ok:
            for method in (lambda: result.value("scenicness"), result.to_json):
                with pytest.raises(ValueError, match="was not explained"):
                    method()
            continue
        alone = explainer(resize_for_model(read_photo(result.path, target_size=(32, 32)), 32, 32)
                          [None], top_k=3)
        output = alone.output_names[0]
        np.testing.assert_allclose(result.value(output), alone.output(output).value[0], atol=1e-5)
        assert [name for name, _ in result.top_attributes(output, k=3)] == [
            name for name, _ in alone.top_attributes(output, 0, k=3)]
        record = result.to_json()
        assert record["image"] == result.path and record["source"]["width"] > 32
        assert record["outputs"][output]["value"] == pytest.approx(float(alone.output(
            output).value[0]), abs=1e-5)


def test_one_path_is_one_file_and_the_counts_are_checked(explainer):
    photo = str(real_photos()[0])
    assert len(explainer.explain_files(photo)) == 1
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        explainer.explain_files([photo], batch_size=0)
    [too_big] = explainer.explain_files([photo], max_pixels=1000)
    assert not too_big.ok and "(0.3 MP) is more than the limit of 1000 pixels" in too_big.error
