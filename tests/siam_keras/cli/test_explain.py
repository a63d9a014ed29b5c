import json

import numpy as np
import pytest

from siam_keras.cli import main
from siam_keras.images import read_photo, resize_for_model
from tests.image_cases import READABLE, UNREADABLE, write_image_cases


@pytest.fixture(scope="module")
def folder(tmp_path_factory, tiny_scenes):
    root = tmp_path_factory.mktemp("photos")
    write_image_cases(root / "cases", tiny_scenes["image"][0])
    from PIL import Image

    Image.fromarray(tiny_scenes["image"][1]).save(root / "scene.png")
    (root / "cases" / "README.txt").write_text("not picked up: no image suffix")
    return root


@pytest.mark.slow
def test_every_case_is_explained_or_reported_by_name(folder, tiny_models, tiny_siam, tmp_path,
                                                     capsys):
    out = tmp_path / "out"
    code = main(["explain", "--model", str(tiny_models[0]), str(folder), "--out", str(out),
                 "--top-k", "3", "--batch-size", "4"])
    assert code == 1  # some failed, the rest went on
    err = capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_images"] == len(READABLE) + len(UNREADABLE) + 1
    assert summary["num_explained"] == len(READABLE) + 1
    failed = {f["image"].split("/")[-1]: f["error"] for f in summary["failed"]}
    assert set(failed) == set(UNREADABLE)
    for name in UNREADABLE:
        assert name in err
    for name in [*READABLE, "scene.png"]:
        stem = name.rsplit(".", 1)[0]
        data = json.loads((out / f"{stem}.json").read_text())
        assert (out / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # The JSON holds the model's own prediction on those pixels.
        pixels = resize_for_model(read_photo(data["image"]).pixels, 32)
        predicted = tiny_siam.predict(pixels[None].astype("float32"), verbose=0)
        for output in ("scenicness", "scenicness_variance"):
            assert abs(data["outputs"][output]["value"] - float(predicted[output][0])) < 1e-5
            contributions = [data["outputs"][output]["contributions"][a]
                             for a in data["attribute_scores"]]
            np.testing.assert_allclose(contributions, predicted[f"{output}_contributions"][0],
                                       atol=1e-5)
        assert len(data["outputs"]["scenicness"]["top_k"]) == 3
    assert json.loads((out / "rotated_exif.json").read_text())["source"]["width"] == 32


@pytest.mark.parametrize("args, message", [
    (["--output", "beauty"], "Unknown --output 'beauty'"),
    (["--top-k", "0"], "must be positive"),
])
def test_bad_options_get_one_clear_message(folder, tiny_models, tmp_path, capsys, args, message):
    code = main(["explain", "--model", str(tiny_models[0]), str(folder / "scene.png"),
                 "--out", str(tmp_path), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_input_and_non_siam_model(folder, tiny_models, tmp_path, capsys):
    assert main(["explain", "--model", str(tiny_models[0]), str(tmp_path / "nope"),
                 "--out", str(tmp_path)]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["explain", "--model", str(tiny_models[1]), str(folder / "scene.png"),
                 "--out", str(tmp_path)]) == 2
    assert "needs a SIAM model" in capsys.readouterr().err
