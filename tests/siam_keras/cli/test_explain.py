import json
from pathlib import Path

import numpy as np
import pytest

from siam_keras.cli import main
from siam_keras.runtime.images import read_photo, resize_for_model
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
        pixels = resize_for_model(read_photo(data["image"], target_size=32), 32)
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


def _photo_folder(root, scenes, names):
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.fromarray(scenes["image"][i]).save(root / name)
    return root


def _explain(model, *args):
    return main(["explain", "--model", str(model), *map(str, args)])


def test_out_equal_to_an_input_folder_is_refused_and_nothing_is_written(tiny_models, tiny_scenes,
                                                                        tmp_path, capsys):
    photos = _photo_folder(tmp_path / "photos", tiny_scenes, ["a.png", "b.jpg"])
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    assert _explain(tiny_models[0], photos, "--out", photos) == 2
    err = capsys.readouterr().err
    assert "is an input folder" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == before


def test_out_inside_an_input_folder_is_never_explained_and_inputs_never_replaced(
        tiny_models, tiny_scenes, tmp_path):
    photos = _photo_folder(tmp_path / "photos", tiny_scenes, ["a.png", "b.jpg", "summary.png"])
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    out = photos / "explained"
    for _ in range(2):  # the second run must not explain the first one's figures
        assert _explain(tiny_models[0], photos, "--out", out) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["num_images"] == 3
    # summary.png's JSON does not collide with the run's summary.json.
    assert {e["json"] for e in summary["explained"]} == {"a.json", "b.json", "summary-2.json"}
    assert json.loads((out / "summary-2.json").read_text())["image"].endswith("summary.png")
    assert {p.name: p.read_bytes() for p in photos.iterdir() if p.is_file()} == before
    # Another run elsewhere does not explain the figures of the first either.
    assert _explain(tiny_models[0], photos, "--out", tmp_path / "elsewhere") == 0
    assert json.loads((tmp_path / "elsewhere" / "summary.json").read_text())["num_images"] == 3


def test_a_users_own_files_in_out_are_never_replaced(tiny_models, tiny_scenes, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.json").write_text("my notes")
    (out / "a.png").write_text("a user's file, not an input")
    photos = _photo_folder(tmp_path / "photos", tiny_scenes, ["notes.jpg", "A.jpg", "a.png"])
    assert _explain(tiny_models[0], photos, "--out", out) == 0
    assert (out / "notes.json").read_text() == "my notes"
    assert (out / "a.png").read_text() == "a user's file, not an input"
    summary = json.loads((out / "summary.json").read_text())
    written = {e["image"].rsplit("/", 1)[-1]: e["json"] for e in summary["explained"]}
    # a.png (a user's file) takes no name of the photos; A.jpg and a.png differ only in case.
    assert written == {"A.jpg": "A-2.json", "a.png": "a-3.json", "notes.jpg": "notes-2.json"}


def test_an_input_photo_in_out_is_refused(tiny_models, tiny_scenes, tmp_path):
    out = _photo_folder(tmp_path / "out", tiny_scenes, ["a.png"])
    assert _explain(tiny_models[0], out / "a.png", "--out", out) == 2
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]


def test_a_file_name_that_is_not_utf8_is_explained_like_any_other(tiny_models, tiny_scenes,
                                                                 tmp_path):
    import os

    photos = _photo_folder(tmp_path / "photos", tiny_scenes, ["plain.png"])
    from PIL import Image

    Image.fromarray(tiny_scenes["image"][1]).save(os.fsencode(photos) + b"/caf\xe9.png")
    out = tmp_path / "out"
    assert _explain(tiny_models[0], photos, "--out", out) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["num_explained"] == 2
    entry = next(e for e in summary["explained"] if "caf" in e["image"])
    assert entry["image"].endswith("caf\\xe9.png") and entry["json"] == "caf?.json"
    record = json.loads((out / "caf?.json").read_bytes().decode("utf-8"))
    assert record["image"].endswith("caf\\xe9.png")
    assert (out / "caf?.png").is_file()


def test_an_unwritable_out_is_one_line(tiny_models, tiny_scenes, tmp_path, capsys):
    photos = _photo_folder(tmp_path / "photos", tiny_scenes, ["a.png"])
    (tmp_path / "file").write_text("x")
    assert _explain(tiny_models[0], photos, "--out", tmp_path / "file" / "out") == 2
    err = capsys.readouterr().err
    assert "cannot be written" in err and "Traceback" not in err and err.count("\n") == 1


def test_a_table_of_another_format_is_refused_naming_the_flag(tiny_models, tiny_scenes, tmp_path,
                                                              capsys):
    photos = _photo_folder(tmp_path / "photos", tiny_scenes, ["a.png"])
    assert _explain(tiny_models[0], photos, "--out", tmp_path / "out",
                    "--table", tmp_path / "t.xlsx") == 2
    assert "--table must be a .csv or .parquet file. Received:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_a_full_disk_fails_each_image_by_name_and_leaves_no_figure_without_json(
        tiny_models, tiny_scenes, tmp_path, monkeypatch, capsys):
    from siam_keras.app import image_files as files

    photos = _photo_folder(tmp_path / "photos", tiny_scenes, ["a.png", "b.png"])
    real = files.write_json

    def full_disk(path, *args, **kwargs):
        if path.name != "summary.json":
            raise OSError(28, "No space left on device")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(files, "write_json", full_disk)
    out = tmp_path / "out"
    assert _explain(tiny_models[0], photos, "--out", out) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_failed"] == 2
    assert all("No space left on device" in f["error"] for f in summary["failed"])
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    monkeypatch.setattr(files, "write_json", lambda *a, **k: full_disk(Path("x.json")))
    assert _explain(tiny_models[0], photos, "--out", tmp_path / "out2") == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err.splitlines()[-1] and "Traceback" not in err


def test_a_gps_tagged_jpeg_and_a_tiff_are_explained_and_mapped(tiny_models, tiny_siam, tiny_scenes,
                                                              tmp_path, capsys):
    from PIL import Image

    from tests.image_cases import SYDNEY, write_gps_photo

    photos = tmp_path / "photos"
    photos.mkdir()
    write_gps_photo(photos / "harbour.jpg", SYDNEY, tiny_scenes["image"][0])
    grey16 = np.asarray(Image.fromarray(tiny_scenes["image"][1]).convert("L"), np.uint16) * 257
    Image.fromarray(grey16).save(photos / "scan.TIFF", compression="tiff_lzw")
    out = tmp_path / "out"
    assert _explain(tiny_models[0], photos, "--out", out, "--top-k", "3") == 0
    assert "locations.geojson" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert [e["json"] for e in summary["explained"]] == ["harbour.json", "scan.json"]
    assert summary["locations"] == "locations.geojson"
    harbour, scan = (json.loads((out / f"{n}.json").read_text()) for n in ("harbour", "scan"))
    assert harbour["location"]["source"] == "exif"
    assert harbour["location"]["latitude"] == pytest.approx(-33.857, abs=1e-4)
    assert scan["source"] == {"format": "TIFF", "mode": "I;16", "width": 32, "height": 32,
                              "decode_scale": 1}
    assert "location" not in scan
    pixels = resize_for_model(read_photo(photos / "scan.TIFF", target_size=32), 32)
    predicted = tiny_siam.predict(pixels[None].astype("float32"), verbose=0)
    assert abs(scan["outputs"]["scenicness"]["value"] - float(predicted["scenicness"][0])) < 1e-5
    [feature] = json.loads((out / "locations.geojson").read_text())["features"]
    assert feature["geometry"]["coordinates"] == [harbour["location"]["longitude"],
                                                  harbour["location"]["latitude"]]
    assert feature["properties"]["scenicness"] == harbour["outputs"]["scenicness"]["value"]
    assert (out / "scan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
