import json

import numpy as np
import pytest
from PIL import Image

from siam_keras.explanations import SIAMExplainer
from siam_keras.runtime.explanation import ExplanationError
from siam_keras.runtime.image_files import checked_arguments, explain_files
from siam_keras.runtime.output_folder import (
    OutputFolderError,
    display_path,
    output_names,
    prepare_output_folder,
)


class _FailsOnWhite:
    """A real explainer whose check fails on any batch holding an all-white image."""

    def __init__(self, model):
        self.inner = SIAMExplainer(model)
        self.image_size = self.inner.image_size

    def __call__(self, pixels, top_k=8):
        if any((image == 255).all() for image in pixels):
            raise ExplanationError("Output 'scenicness': ... is off by 0.45")
        return self.inner(pixels, top_k=top_k)


def test_an_explanation_that_does_not_add_up_fails_that_image_alone(tiny_siam, tiny_scenes,
                                                                   tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(tiny_scenes["image"][0]).save(photos / "a.png")
    Image.fromarray(np.full((40, 30, 3), 255, np.uint8)).save(photos / "b_white.png")
    Image.fromarray(tiny_scenes["image"][1]).save(photos / "c.png")
    out = tmp_path / "out"
    files = checked_arguments([photos], out, top_k=3)
    summary = explain_files(files, _FailsOnWhite(tiny_siam), out, "model.keras", top_k=3,
                            batch_size=8)
    assert summary["num_explained"] == 2 and summary["num_failed"] == 1
    assert "b_white.png: its explanation does not add up" in summary["failed"][0]["error"]
    assert (out / "a.json").is_file() and (out / "c.json").is_file()
    assert not (out / "b_white.json").exists()
    assert json.loads((out / "summary.json").read_text())["num_failed"] == 1


def test_output_names_avoid_each_other_summary_and_foreign_files_case_insensitively(tmp_path):
    (tmp_path / "Photo.PNG").write_text("a user's file")
    files = [tmp_path / "in" / "photo.jpg", tmp_path / "in2" / "photo.png",
             tmp_path / "in" / "SUMMARY.jpg"]
    assert output_names(files, tmp_path) == ["photo-2", "photo-3", "SUMMARY-2"]


def test_a_summary_json_no_explain_run_wrote_is_left_alone(tmp_path):
    (tmp_path / "summary.json").write_text('{"mine": true}')
    with pytest.raises(OutputFolderError, match="no explain command wrote"):
        prepare_output_folder(tmp_path, [])
    assert (tmp_path / "summary.json").read_text() == '{"mine": true}'


def test_display_path_is_always_valid_utf8():
    import os

    shown = display_path(os.fsdecode(b"/photos/caf\xe9.jpg"))
    assert shown == "/photos/caf\\xe9.jpg"
    shown.encode("utf-8")


def test_a_killed_run_is_resumed_under_the_same_names(tiny_siam, tiny_scenes, tmp_path):
    """Killed after two images: its outputs are already listed in summary.json, so the
    rerun replaces them instead of writing a-2.json beside them."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, name in enumerate(["a.png", "b.png", "c.png"]):
        Image.fromarray(tiny_scenes["image"][i]).save(photos / name)
    out = tmp_path / "out"
    drawn = []

    def draw(path, *args):
        if len(drawn) == 2:
            raise KeyboardInterrupt("killed")
        drawn.append(path)
        Image.new("RGB", (4, 4)).save(path)

    files = checked_arguments([photos], out, top_k=3)
    with pytest.raises(KeyboardInterrupt):
        explain_files(files, SIAMExplainer(tiny_siam), out, "m.keras", draw=draw, batch_size=1)
    assert not (out / "summary.json").exists()
    assert len((out / "summary.progress.jsonl").read_text().splitlines()) == 2
    drawn.clear()
    summary = explain_files(checked_arguments([photos], out, top_k=3), SIAMExplainer(tiny_siam),
                            out, "m.keras", batch_size=1)
    assert [e["json"] for e in summary["explained"]] == ["a.json", "b.json", "c.json"]
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "a.png", "b.json", "b.png",
                                                     "c.json", "summary.json"]
